"""Every benchmark of the Woo -> Exact flow, each in a fresh process, and one summary table.

    python -m bench.run_all [--quick]

`--quick` uses small sizes (a smoke run, not the figures to report).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from rich.console import Console

from bench.report import JSON_MARK, Figure, load_average, table

_QUICK_FAULTS = ["--orders", "150", "--live", "10", "--refunds", "5", "--slow", "3"]
SCRIPTS: list[tuple[str, list[str], list[str]]] = [  # (module, default arguments, --quick arguments)
    (
        "bench.calls_per_order",
        [],
        ["--orders", "100", "--customers", "30", "--guest-store-customers", "10", "--steady", "50"],
    ),
    ("bench.throughput", [], ["--orders", "200"]),
    ("bench.webhook_latency", [], ["--samples", "5"]),
    ("bench.backfill_memory", [], ["--sizes", "300", "1000"]),
    ("bench.fault_run", [], _QUICK_FAULTS),
    ("bench.fault_run", ["--batched"], [*_QUICK_FAULTS, "--batched"]),
]


def run_script(module: str, arguments: list[str]) -> list[Figure]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", module, *arguments, "--json"], capture_output=True, text=True, check=False
    )
    print(f"{module}: exit {done.returncode} after {time.perf_counter() - started:.0f} s", flush=True)
    for line in done.stdout.splitlines():
        if line.startswith(JSON_MARK):
            return [Figure(**figure) for figure in json.loads(line.removeprefix(JSON_MARK))]
    print(done.stdout[-2000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
    return [Figure(f"{module} failed (exit {done.returncode})", float("nan"), "", 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    print(f"load average before: {load_average()}", flush=True)
    figures: list[Figure] = []
    for module, default, quick in SCRIPTS:
        figures += run_script(module, quick if args.quick else default)
    Console().print(table(figures, f"ml-connector benchmarks (load average after: {load_average()})"))
    sys.exit(1 if any(f.verdict == "MISS" or f.measured != f.measured for f in figures) else 0)


if __name__ == "__main__":
    main()
