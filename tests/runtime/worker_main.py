"""A worker process for the runtime tests: `python -m tests.runtime.worker_main run|worker OPTIONS_JSON`.

Settings come from ML_CONNECTOR_* (data dir, database URL, key); the test flow writes to Exact.
"""

from __future__ import annotations

import json
import sys

from ml_connector.app import open_app
from ml_connector.engine.policy import RetryPolicy
from ml_connector.http.backoff import Backoff
from ml_connector.runtime import commands
from ml_connector.runtime.options import RuntimeOptions
from tests.runtime.world import register_exact_flow


def main() -> None:
    mode, raw = sys.argv[1], json.loads(sys.argv[2])
    policy = RetryPolicy(
        backoff=Backoff(base=0.2, factor=2, cap=2, max_attempts=6), lease_seconds=raw.pop("lease", 300)
    )
    options = RuntimeOptions(policy=policy, **raw)
    register_exact_flow()
    app = open_app()
    try:
        commands.run(app, options) if mode == "run" else commands.worker(app, options)
    finally:
        app.close()


if __name__ == "__main__":
    main()
