"""The real WooCommerce 7.9.0 captures (shared/woo-real) and the docs samples (reference/woo-samples)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.shared_data import SHARED

SHARED = SHARED
WOO_REAL = SHARED / "woo-real"
WOO_SAMPLES = SHARED / "reference" / "woo-samples"


def load(name: str) -> Any:
    return json.loads((WOO_REAL / name).read_bytes())


def sample(name: str) -> Any:
    return json.loads((WOO_SAMPLES / name).read_bytes())


def headers(name: str) -> tuple[int, list[tuple[str, str]]]:
    """Status and headers of `X.headers.txt` (curl -D output; OAuth1 files start with # comment lines)."""
    lines = [line for line in (WOO_REAL / name).read_text().splitlines() if line and not line.startswith("#")]
    status = int(lines[0].split()[1])
    pairs = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    return status, [(k, v) for k, v in pairs]


@dataclass(frozen=True)
class Delivery:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    secret: str


def delivery(path: Path) -> Delivery:
    """Parse a raw captured HTTP request exactly: CRLF head, blank line, then the raw body bytes."""
    raw = path.read_bytes()
    head, body = raw.split(b"\r\n\r\n", 1)
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ")
    fields = dict(line.split(": ", 1) for line in header_lines)
    length = int(fields["Content-Length"])
    assert len(body) == length, f"{path.name}: body is {len(body)} bytes, Content-Length says {length}"
    secret_file = path.with_name(path.name.replace(".http.txt", ".secret.txt"))
    return Delivery(path.name, method, target, fields, body, secret_file.read_text())


def deliveries() -> list[Delivery]:
    return [delivery(path) for path in sorted(WOO_REAL.glob("webhook-*.http.txt"))]
