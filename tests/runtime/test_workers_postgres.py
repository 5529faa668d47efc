"""Two worker processes on PostgreSQL share 500 records: each written once, each division throttled."""

from __future__ import annotations

import json
import signal
import uuid
from collections import Counter

import pytest
from sqlalchemy import create_engine, func, select, text

from ml_connector.store.models import LedgerEntry, LedgerState
from tests.runtime.conftest import make_app, start_process, wait_for
from tests.runtime.world import Counted, add_shop, an_item, connect_exact, register_exact_flow

DIVISIONS, ORDERS, CUSTOMERS = 10, 50, 5  # 500 records
LIMIT, PERIOD = 10, 4.0  # per division: binding, since one division runs about 4 records a second unthrottled


def max_in_window(starts: list[float], period: float) -> int:
    starts = sorted(starts)
    best, left = 0, 0
    for right, moment in enumerate(starts):
        while moment - starts[left] >= period:
            left += 1
        best = max(best, right - left + 1)
    return best


@pytest.mark.slow
def test_two_workers_write_500_records_exactly_once_within_the_division_limits(
    postgres_db, sandboxes, secret_key, tmp_path
):
    register_exact_flow()
    app = make_app(postgres_db, tmp_path / "data", secret_key)
    boxes = [sandboxes(minutely_limit=100_000, daily_limit=1_000_000) for _ in range(DIVISIONS)]
    for index, box in enumerate(boxes):
        exact_id = connect_exact(app, f"books{index}", box.url, box.exact)
        item = an_item(app, f"books{index}")
        orders = {
            str(n): {
                "customer": f"c{n % CUSTOMERS}",
                "amount": n + 1,
                "status": "processing",
                "item": item,
                "modified": f"2026-01-01T00:00:{n:02d}+00:00",
            }
            for n in range(ORDERS)
        }
        shop_file = tmp_path / f"shop{index}.json"
        shop_file.write_text(json.dumps(orders))
        add_shop(app, f"shop{index}", shop_file, exact_id, schedule="1h")
        box.recorder.writes.clear()

    dbos_schema = f"dbos_{uuid.uuid4().hex[:8]}"
    options = {
        "tick_seconds": 0.5,
        "partition_limit": LIMIT,
        "partition_period": PERIOD,
        "queue_polling_seconds": 0.05,
        "dbos_schema": dbos_schema,
        "worker_concurrency": 6,
    }
    workers = [start_process(app, secret_key, "worker", options, tmp_path / f"w{i}.log") for i in range(2)]

    def invoices_sent() -> int:
        with app.db.session() as session:
            query = select(func.count()).where(
                LedgerEntry.target_entity == "SalesInvoices", LedgerEntry.state == LedgerState.SENT
            )
            return session.scalar(query) or 0

    try:
        wait_for(lambda: invoices_sent() == DIVISIONS * ORDERS, 150, "500 invoices", workers)
    finally:
        for worker in workers:
            worker.popen.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.popen.wait(60)
        engine = create_engine(postgres_db.url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{dbos_schema}" CASCADE'))
        engine.dispose()

    worst = 0
    for index, box in enumerate(boxes):
        counts = Counted.of(app, f"books{index}").by_ref
        assert len(counts) == ORDERS and set(counts.values()) == {1}, f"division {index}: {counts}"
        assert box.recorder.max_in_flight == 1  # partition concurrency 1, across both workers
        starts = [start for path, start, _ in box.recorder.writes if path.endswith("SalesInvoices")]
        worst = max(worst, max_in_window(starts, PERIOD))
        assert max(starts) - min(starts) >= (ORDERS / LIMIT - 1) * PERIOD  # the limiter held them back
    print(f"most invoice writes in one {PERIOD}s window of one division: {worst} (limit {LIMIT})")
    assert (
        worst <= LIMIT * 1.5
    )  # DBOS's limiter is approximate (design notes §9); Exact's governor is the guard
    with app.db.session() as session:
        states = Counter(session.scalars(select(LedgerEntry.state)))
    assert states == {LedgerState.SENT: DIVISIONS * (ORDERS + CUSTOMERS)}
    for worker in workers:
        assert worker.popen.returncode == 0, worker.output()
