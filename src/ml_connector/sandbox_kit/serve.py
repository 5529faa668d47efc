"""Serve a sandbox ASGI app on loopback: in a thread for tests, or in the foreground for the CLI."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _config(app: ASGIApp, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=LOOPBACK, port=port, log_level="critical", access_log=False, lifespan="off"
    )


class ThreadedServer:
    """Runs an ASGI app with uvicorn in a background thread (like moto's ThreadedMotoServer)."""

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.port = port or free_port()
        self._server = uvicorn.Server(_config(app, self.port))
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_foreground(app: ASGIApp, port: int, ready_info: Callable[[str], dict[str, Any]]) -> None:
    """Serve until interrupted; once listening, print one JSON line built from the base URL."""
    server = uvicorn.Server(_config(app, port))
    base_url = f"http://{LOOPBACK}:{port}"

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        if server.started:
            print(json.dumps(ready_info(base_url)), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
