from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ml_connector.app import App
from ml_connector.config import load_settings
from ml_connector.exact.sandbox.app import ExactSandbox, create_app
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.db import Database
from ml_connector.vault import KeySource, Vault
from tests.engine.conftest import world  # noqa: F401 - the engine's test world serves here too

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Recorder:
    """ASGI middleware noting every write to Exact: when it started and ended, and how many overlapped.

    It also reads a write's whole body before the sandbox sees it, as Exact's front end does: a client
    that disconnects while the write is slow then does not cancel the write (sandbox_kit's `slow` fault
    waits before the body is read, so without this a killed client could never leave a committed write).
    """

    app: ASGIApp
    writes: list[tuple[str, float, float]] = field(default_factory=list)  # (path, start, end)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT")
            or "/api/v1/" not in scope["path"]
        ):
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        start = time.monotonic()
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break

        async def replay() -> Message:
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        try:
            await self.app(scope, replay, send)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.writes.append((scope["path"], start, time.monotonic()))


@dataclass
class Sandbox:
    exact: ExactSandbox
    server: ThreadedServer
    recorder: Recorder

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture
def sandboxes() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        exact = create_app(seed=len(started) + 1, **options)
        recorder = Recorder(exact.asgi)
        sandbox = Sandbox(exact, ThreadedServer(recorder).start(), recorder)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.server.stop()
        sandbox.exact.close()


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


def make_app(db: Database, data_dir: Path, key: str) -> App:
    settings = load_settings(None, data_dir=data_dir, database_url=db.url, secret_key=SecretStr(key))
    return App(settings=settings, db=db, vault=Vault([key.encode()], KeySource("test", None)))


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_process(app: App, key: str, mode: str, options: dict[str, Any], log: Path, **env: str) -> Process:
    environment = {
        **os.environ,
        "ML_CONNECTOR_DATA_DIR": str(app.settings.data_dir),
        "ML_CONNECTOR_DATABASE_URL": app.db.url,
        "ML_CONNECTOR_SECRET_KEY": key,
        "PYTHONPATH": str(ROOT),
        **env,
    }
    handle = log.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.worker_main", mode, json.dumps(options)],
        cwd=ROOT,
        env=environment,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return Process(popen, log)


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, processes: Sequence[Process] = ()
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.popen.poll() is not None:
                code = process.popen.returncode
                raise AssertionError(
                    f"a worker exited ({code}) while waiting for {what}:\n{process.output()}"
                )
        time.sleep(0.2)
    logs = "\n".join(p.output() for p in processes)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
