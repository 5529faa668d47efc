"""Peak memory of the connector while it backfills a shop of N orders, for several N.

For each N: fresh sandboxes in their own processes (a shop of N orders; Exact holding the catalogue)
and the connector in a spawned child process of its own that connects, then runs the backfill
(`ml-connector sync shop --once`: read every order, write every invoice) on the embedded default. The
child reports its peak resident set (VmHWM from /proc/self/status) after set-up and after the backfill.

    python -m bench.backfill_memory [--sizes 1000 3000 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.child import in_own_process
from bench.report import Figure, main
from bench.sandboxes import ShopSize, exact_documents, sandbox_processes
from bench.shop import SHOP, connect_shop, open_connector
from ml_connector.runtime.commands import sync_once

MIB = 1024


def peak_rss_mib() -> float:
    """This process's high-water resident set size (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / MIB
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def _backfill(exact: dict[str, Any], woo: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        app = open_connector(Path(data_dir))
        try:
            connect_shop(app, exact, woo)
            ready = peak_rss_mib()
            started = time.perf_counter()
            report = sync_once(app, SHOP, since=None, progress=False)
            seconds = time.perf_counter() - started
        finally:
            app.close()
    return {"ready_mib": ready, "peak_mib": peak_rss_mib(), "seconds": seconds, "seen": report.seen}


def backfill(orders: int) -> dict[str, Any]:
    with sandbox_processes(ShopSize(orders, max(60, orders // 20), 40)) as boxes:
        # the connector in a process of its own: its peak RSS is its own, not the bench's
        result = in_own_process(_backfill, boxes.exact, boxes.woo, name="connector")
        result["invoices"] = sum(
            1 for rows in exact_documents(boxes.exact).values() for r in rows if r["type"] == 8020
        )
    return result


def measure(args: argparse.Namespace) -> list[Figure]:
    figures, peaks = [], []
    for orders in args.sizes:
        result = backfill(orders)
        print(f"{orders} orders: {result}", flush=True)
        peaks.append(result["peak_mib"])
        figures.append(
            Figure(
                f"peak RSS backfilling {orders} orders",
                result["peak_mib"],
                "MiB",
                150,
                note=f"{result['seconds']:.0f} s, {result['invoices']} invoices, "
                f"{result['ready_mib']:.0f} MiB before",
            )
        )
    figures.append(Figure("peak RSS growth smallest -> largest N", max(peaks) - min(peaks), "MiB"))
    return figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000], help="shop sizes (orders)")


if __name__ == "__main__":
    main("Backfill peak memory", add_arguments, measure)
