"""8 processes share one Exact connection while its tokens expire again and again.

Done when: zero lost refresh tokens ("Old refresh token used."), zero too-early refusals, every
process keeps working, and the stored chain is still alive at the end. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ml_connector.app import App
from ml_connector.exact.authorize import authorize_with_code
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.db import Database
from ml_connector.vault import KeySource, Vault

from . import rotation_worker
from .sandbox_support import add_sandbox_connection, sandbox_code, served_sandbox

PROCESSES = 8
RUN_SECONDS = 5.0
# Time runs in cycles of one token life: a jump of 540 s, then 60 s in 1 s steps every 10 ms, so that the
# refresh window and the expiry pass slowly (a token call takes far less than Exact's 30 s margin).
JUMP_SECONDS, SLOW_STEPS = 540.0, 60


@pytest.mark.slow
def test_eight_processes_rotate_tokens_without_losing_one(db: Database, tmp_path: Path):
    key = Fernet.generate_key().decode()
    vault = Vault([key.encode()], KeySource("test", None))
    holder = App(settings=None, db=db, vault=vault)  # type: ignore[arg-type]  # only .db and .vault are used
    clock = ManualClock()
    with served_sandbox(clock, rate_limits=False) as served:
        add_sandbox_connection(holder, vault, served)
        authorize_with_code(holder, "exact", sandbox_code(served), clock=clock)
        stop = threading.Event()

        def tick() -> None:
            while not stop.is_set():
                clock.advance(JUMP_SECONDS)
                for _ in range(SLOW_STEPS):
                    clock.advance(1.0)
                    time.sleep(0.01)

        ticker = threading.Thread(target=tick, daemon=True)
        # forkserver: a clean single-threaded parent that imports the worker once, so 8 workers start fast.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([rotation_worker.__name__])
        with context.Pool(PROCESSES) as pool:
            pending = [
                pool.apply_async(
                    rotation_worker.run, (str(tmp_path), db.url, key, served.base_url, RUN_SECONDS)
                )
                for _ in range(PROCESSES)
            ]
            time.sleep(1.5)  # let the workers start before time starts to run
            ticker.start()
            results = [p.get(timeout=60) for p in pending]
        stop.set()
        ticker.join()
        # The chain is still alive: one more expiry, one more refresh, from a fresh process view.
        clock.advance(700)
        final = rotation_worker.run(str(tmp_path), db.url, key, served.base_url, 0.2)
        outcomes = served.stats()["token_outcomes"]

    failures = [f for r in results for f in r["failures"]]
    assert failures == [], (
        outcomes,
        sorted({f[:120] for f in failures}),
        [r["failures"][:3] for r in results],
    )
    assert all(r["calls"] > 0 for r in results)
    assert "Old refresh token used." not in outcomes
    assert "Rate limit exceeded: access_token not expired" not in outcomes
    assert outcomes["refresh_token"] >= 3  # several rotations happened while all processes were busy
    assert sum(r["refreshes"] for r in results) + final["refreshes"] == outcomes["refresh_token"]
    assert final["failures"] == [] and final["calls"] > 0
