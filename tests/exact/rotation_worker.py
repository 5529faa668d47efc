"""Worker processes for the multi-process tests: each calls Exact through its own client and App."""

from __future__ import annotations

import time
from typing import Any

import httpx
from pydantic import SecretStr

from ml_connector.app import open_app
from ml_connector.config import load_settings
from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient


class SandboxClock:
    """The sandbox's clock, read over its helper endpoint, so that every process sees the same time."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url)

    def time(self) -> float:
        return float(self._http.get("/_sandbox/clock").json()["time"])

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)  # the worker passes its own, scaled sleep to the client


def run(
    data_dir: str,
    database_url: str,
    secret_key: str,
    base_url: str,
    seconds: float,
    max_calls: int | None = None,
    clock_scale: float | None = None,
) -> dict[str, Any]:
    """Call for `seconds` (or `max_calls`); waits are real sleeps, scaled when the sandbox clock runs fast."""
    settings = load_settings(
        None, data_dir=data_dir, database_url=database_url, secret_key=SecretStr(secret_key)
    )
    app = open_app(settings, upgrade=False)

    def sleep(wait: float) -> None:
        time.sleep(wait / clock_scale if clock_scale else min(wait, 0.02))

    client = ExactClient.for_connection(app, "exact", clock=SandboxClock(base_url), sleep=sleep)
    calls, failures = 0, []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and (max_calls is None or calls < max_calls):
            try:
                client.first("VATCodes", odata.Query(select=("ID",), top=1))
                calls += 1
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.05)
    finally:
        client.close()
        app.close()
    return {"calls": calls, "failures": failures, "refreshes": client.tokens.refreshes}  # type: ignore[attr-defined]
