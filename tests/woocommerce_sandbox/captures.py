"""Access to the real WooCommerce 7.9.0 captures in shared/woo-real."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.shared_data import SHARED

WOO_REAL = SHARED / "woo-real"
CAPTURE_TIME = 1795438574  # oauth_timestamp of the captured OAuth1 requests (2026-11-23T12:56:14Z)
CAPTURE_HOST = "http://127.0.0.1:8080"
RW_KEY = ("ck_596ccb6e0a7b1eda0a08e9cdb41bc99f2bb6464b", "cs_5fcf3beec9a72ae1cf6987edf7fb2dcb509f2bac")
RO_KEY = ("ck_942d6ca6e6cc7cbed5b1f46fb5f8feb6a121afaa", "cs_06ac5de090608cfd5e29f9f928ff10918e463327")


def load(name: str) -> Any:
    return json.loads((WOO_REAL / name).read_bytes())


def raw(name: str) -> bytes:
    return (WOO_REAL / name).read_bytes()


def request_url(name: str) -> str:
    """The signed request URL recorded in an OAuth1 capture's `# request: GET <url>` line."""
    first = (WOO_REAL / name).read_text().splitlines()[0]
    assert first.startswith("# request: GET "), first
    return first.removeprefix("# request: GET ")


def header(name: str, field: str) -> str | None:
    for line in (WOO_REAL / name).read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == field.lower():
            return value.strip()
    return None


@dataclass(frozen=True)
class CapturedDelivery:
    name: str
    headers: dict[str, str]
    body: bytes
    secret: str


def deliveries() -> list[CapturedDelivery]:
    out = []
    for path in sorted(WOO_REAL.glob("webhook-*.http.txt")):
        head, body = path.read_bytes().split(b"\r\n\r\n", 1)
        fields = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:])
        secret = path.with_name(path.name.replace(".http.txt", ".secret.txt")).read_text()
        out.append(CapturedDelivery(path.name, fields, body, secret))
    return out
