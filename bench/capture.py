"""Record the HTTP requests this process sends, and replay them with a bare httpx loop.

The recorder wraps `httpx.HTTPTransport.handle_request` (every client of the product ends there, after
auth was applied) and keeps method, URL, headers, body and the seconds until the response was read;
the cost is one list append per request. The replay sends the same requests in the same order over one
keep-alive client per host: the floor the connector's own time is compared to.

The replay goes to the same sandboxes, after the connector: its documents are posted a second time. So
that the sandbox does the same work as for the connector, an Account is posted with its Code marked as
the replay's (the sandbox would refuse the taken Code with a short 400 instead of creating the Account);
invoices refer to the connector's Accounts, which exist, and are created again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Recorded:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    seconds: float


@dataclass
class Recording:
    requests: list[Recorded] = field(default_factory=list)

    def http_seconds(self) -> float:
        return sum(r.seconds for r in self.requests)

    def summary(self) -> dict[str, str]:
        """Requests and seconds per method and path head, e.g. "POST salesinvoice/SalesInvoices"."""
        count: Counter[str] = Counter()
        seconds: dict[str, float] = {}
        for r in self.requests:
            key = f"{r.method} {_path_head(r.url)}"
            count[key] += 1
            seconds[key] = seconds.get(key, 0.0) + r.seconds
        return {key: f"{count[key]} in {seconds[key]:.2f} s" for key in count}


def _path_head(url: str) -> str:
    parts = [p for p in httpx.URL(url).path.split("/") if p and not p.isdigit()]
    return "/".join(parts[-2:])


@contextmanager
def recording() -> Iterator[Recording]:
    """Every request sent by any `httpx.Client` of this process while the block runs."""
    record = Recording()
    original = httpx.HTTPTransport.handle_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        body = request.read()
        started = time.perf_counter()
        response = original(self, request)
        response.read()
        seconds = time.perf_counter() - started
        headers = list(request.headers.multi_items())
        record.requests.append(Recorded(request.method, str(request.url), headers, body, seconds))
        return response

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    try:
        yield record
    finally:
        httpx.HTTPTransport.handle_request = original  # type: ignore[method-assign]


def replay(record: Recording) -> tuple[float, Recording, Counter[int]]:
    """Send the recorded requests again, in order: wall seconds, the replay's own recording (per-request
    seconds) and the status codes seen."""
    clients: dict[str, httpx.Client] = {}
    statuses: Counter[int] = Counter()
    prepared = [(request, *_as_new_account(request)) for request in record.requests]  # before the clock
    with recording() as again:
        started = time.perf_counter()
        try:
            for request, headers, body in prepared:
                host = httpx.URL(request.url).netloc.decode()
                if host not in clients:
                    clients[host] = httpx.Client(timeout=30)
                client = clients[host]
                response = client.request(request.method, request.url, headers=headers, content=body)
                statuses[response.status_code] += 1
            return time.perf_counter() - started, again, statuses
        finally:
            for client in clients.values():
                client.close()


def _as_new_account(request: Recorded) -> tuple[list[tuple[str, str]], bytes]:
    """The request to send again: an Account POST with the replay's mark on its Code (see the module)."""
    if request.method != "POST" or not httpx.URL(request.url).path.endswith("/crm/Accounts"):
        return request.headers, request.body
    account = json.loads(request.body)
    account["Code"] = f"R{account['Code']}"
    headers = [(name, value) for name, value in request.headers if name.lower() != "content-length"]
    body = json.dumps(account, ensure_ascii=False, separators=(",", ":"))  # as the connector encodes it
    return headers, body.encode()  # httpx sets the new Content-Length
