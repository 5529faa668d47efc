"""End-to-end orders per second, and the ratio to a bare httpx loop making the same HTTP calls.

The sandboxes run in their own processes (the Exact one without rate limits), the connector in this one
on its embedded default (SQLite in a fresh data dir). The timed part is `ml-connector sync shop --once`
(`runtime.commands.sync_once`): read the shop, then write every order. Every request it sends is recorded
(same WooCommerce list pages, same Exact POST bodies) and then replayed by a plain httpx loop against the
same sandboxes; the ratio is connector time / replay time. The replay posts the same documents a second
time (the Exact sandbox accepts them; Accounts get a Code marked as the replay's, so that they are created
again). Before the clock starts, the process is set up as `ml-connector sync` sets itself up
(`runtime.heap.freeze_start_up`), and the flow's modules are loaded, as the replay's httpx is: importing
is a cost of starting a process, not of syncing. Each of `--rounds` rounds runs in a process of its own
with a fresh shop, connector and replay; the figures are the medians.

    python -m bench.throughput [--orders 1000] [--rounds 3] [--profile] [--sql-sites]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from bench.capture import recording, replay
from bench.child import in_own_process
from bench.report import Figure, main
from bench.sandboxes import ShopSize, exact_documents, sandbox_processes
from bench.shop import SHOP, connect_shop, open_connector
from bench.sqlsites import counting_sql
from ml_connector.engine.flows import BUILTIN_FLOW_MODULES
from ml_connector.runtime.commands import sync_once
from ml_connector.runtime.heap import freeze_start_up

PROFILE_LINES = 30


@dataclass(frozen=True)
class Round:
    elapsed: float  # `sync --once`, seconds
    cpu: float  # the connector process's CPU seconds, all threads (the sandboxes run elsewhere)
    bare: float  # the bare httpx replay of the same requests, seconds
    invoices: int
    requests: int
    own: float  # elapsed minus the seconds spent waiting for HTTP (summed over threads)

    @property
    def ratio(self) -> float:
        return self.elapsed / self.bare


def measure_round(args: argparse.Namespace) -> Round:
    """One fresh shop and connector: the timed sync, then the bare replay of what it sent."""
    size = ShopSize(args.orders, args.customers, args.products)
    with sandbox_processes(size) as boxes, tempfile.TemporaryDirectory() as data_dir:
        app = open_connector(Path(data_dir))
        try:
            connect_shop(app, boxes.exact, boxes.woo)
            freeze_start_up()  # as `ml-connector sync` does once the app is open
            importlib.import_module(BUILTIN_FLOW_MODULES["woocommerce"])
            profiler = cProfile.Profile() if args.profile else None
            with ExitStack() as stack:
                sites = stack.enter_context(counting_sql(app.db.engine)) if args.sql_sites else None
                record = stack.enter_context(recording())
                started, cpu_started = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.enable()
                report = sync_once(app, SHOP, since=None, progress=False)
                if profiler:
                    profiler.disable()
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started  # every thread of this process, no sandbox
        finally:
            app.close()
        documents = exact_documents(boxes.exact)
        invoices = sum(1 for rows in documents.values() for row in rows if row["type"] == 8020)
        bare_cpu = time.process_time()
        bare, again, statuses = replay(record)
        bare_cpu = time.process_time() - bare_cpu
    print(f"sync report: seen {report.seen}, processed {report.processed}, ledger {report.states}")
    print(f"connector requests: {record.summary()}")
    print(f"replayed requests: {again.summary()}; statuses {dict(statuses)}")
    own = elapsed - record.http_seconds()
    print(
        f"connector {elapsed:.2f} s (waiting for HTTP {record.http_seconds():.2f} s, own work {own:.2f} s),"
        f" CPU {cpu:.2f} s, bare loop {bare:.2f} s (CPU {bare_cpu:.2f} s), {invoices} invoices,"
        f" ratio {elapsed / bare:.3f}",
        flush=True,
    )
    if sites:
        print(sites.top(invoices))
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(PROFILE_LINES)
        stats.sort_stats("cumulative").print_stats("ml_connector", PROFILE_LINES)
    return Round(elapsed, cpu, bare, invoices, len(record.requests), own)


def measure(args: argparse.Namespace) -> list[Figure]:
    """`--rounds` rounds, each with its own shop, connector and replay; each figure is the median over
    the rounds (this machine is shared: one round can land in a slow minute)."""
    # each round in a fresh process, as each `sync --once` runs: no heap inherited from the rounds before
    rounds = [in_own_process(measure_round, args, name="throughput round") for _ in range(args.rounds)]
    ratios = ", ".join(f"{r.ratio:.2f}" for r in rounds)
    invoices = rounds[0].invoices
    return [
        Figure(
            "orders/s end to end (SQLite)",
            median(r.invoices / r.elapsed for r in rounds),
            "orders/s",
            200,
            "higher",
            note=f"{invoices} invoices in {median(r.elapsed for r in rounds):.1f} s (median of "
            f"{len(rounds)}); {rounds[0].requests} requests",
        ),
        Figure(
            "time ratio connector / bare httpx",
            median(r.ratio for r in rounds),
            "x",
            1.5,
            note=f"median of {ratios}; bare loop {median(r.bare for r in rounds):.1f} s",
        ),
        Figure("requests/s bare httpx loop", median(r.requests / r.bare for r in rounds), "req/s"),
        Figure(
            "connector's own ms per invoice (excl. HTTP)",
            median(1000 * r.own / max(r.invoices, 1) for r in rounds),
            "ms",
        ),
        Figure(
            "connector CPU ms per invoice (all threads)",
            median(1000 * r.cpu / max(r.invoices, 1) for r in rounds),
            "ms",
        ),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=1000, help="orders in the shop")
    parser.add_argument("--customers", type=int, default=60, help="registered customers")
    parser.add_argument("--products", type=int, default=40, help="products (items already in Exact)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (fresh shop each); figures are medians")
    parser.add_argument("--profile", action="store_true", help="profile the connector pass (cProfile)")
    parser.add_argument("--sql-sites", action="store_true", help="count SQL statements per call site")


if __name__ == "__main__":
    main("End-to-end throughput", add_arguments, measure)
