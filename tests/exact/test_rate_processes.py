"""Four processes share one division's minutely budget (through the RateBudget row) without a 429."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cryptography.fernet import Fernet

from ml_connector.app import App
from ml_connector.exact.authorize import authorize_with_code
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.db import Database
from ml_connector.vault import KeySource, Vault

from . import rotation_worker
from .sandbox_support import add_sandbox_connection, sandbox_code, served_sandbox

PROCESSES, CALLS_EACH, SCALE = 4, 40, 60.0  # 160 calls at 60/minute; a sandbox minute per real second


def test_processes_share_the_minutely_budget_without_a_429(sqlite_db: Database, tmp_path: Path):
    key = Fernet.generate_key().decode()
    vault = Vault([key.encode()], KeySource("test", None))
    holder = App(settings=None, db=sqlite_db, vault=vault)  # type: ignore[arg-type]  # only .db and .vault are used
    clock = ManualClock(scale=SCALE)
    with served_sandbox(clock, minutely_limit=60, daily_limit=5000) as served:
        add_sandbox_connection(holder, vault, served)
        authorize_with_code(holder, "exact", sandbox_code(served), clock=clock)
        start = clock.time()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([rotation_worker.__name__])
        args = (str(tmp_path), sqlite_db.url, key, served.base_url, 60.0, CALLS_EACH, SCALE)
        with context.Pool(PROCESSES) as pool:
            results = pool.starmap(rotation_worker.run, [args] * PROCESSES)
        minutes = (clock.time() - start) / 60
        stats = served.stats()
    assert [r["failures"] for r in results] == [[]] * PROCESSES
    assert [r["calls"] for r in results] == [CALLS_EACH] * PROCESSES
    assert stats["rate_limited"] == 0
    assert minutes > 1  # 160 calls cannot fit in two clock minutes: the processes really waited
