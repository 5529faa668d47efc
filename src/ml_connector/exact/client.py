"""ExactClient: every REST call to one Exact division goes through here.

Per call: the rate governor admits it, the token manager supplies the bearer token, the answer's
rate-limit headers go back to the governor. A 429 waits for the window and resends (Exact refused
it unprocessed); a 401 gets one fresh token and one resend. GETs are retried on transport errors and
5xx (`send_idempotent`); POST/PUT/DELETE never are: after sending, a timeout, reset or 5xx raises
OutcomeUnknownError and the engine looks the record up by its external reference first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from ml_connector.app import App
from ml_connector.exact import errors, odata
from ml_connector.exact.connection import new_http_client, oauth_client, require_division, site_url
from ml_connector.exact.entities import DELETED_PATH, ME_PATH, entity_set
from ml_connector.exact.models import DeletedRecord, Me
from ml_connector.exact.paging import (
    EnvelopeError,
    Page,
    iterate_pages,
    iterate_rows,
    parse_page,
    parse_single,
)
from ml_connector.exact.rate import RateGovernor, endpoint_of
from ml_connector.exact.regions import API_PATH
from ml_connector.exact.tokens import TokenManager
from ml_connector.http.backoff import Backoff
from ml_connector.http.errors import AuthError, RateLimitedError
from ml_connector.http.retry import send_idempotent
from ml_connector.sandbox_kit.clock import Clock
from ml_connector.store.connections import get_connection

WRITE_HEADERS = {"Content-Type": "application/json", "Prefer": "return=representation"}
MAX_RATE_WAITS = 5  # consecutive 429s on one call before giving up (the governor already waited each time)
# Never sent: safe to raise as transient even for writes.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_SENT_BUT_LOST = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Creates go to one URL per entity set: parse each once (an update's URL, one per record, passes through).
_parsed_url = lru_cache(maxsize=256)(httpx.URL)


class TokenSource(Protocol):
    def access_token(self) -> SecretStr: ...
    def after_unauthorized(self, rejected: SecretStr) -> SecretStr: ...


class ExactClient:
    def __init__(
        self,
        *,
        base_url: str,
        division: int,
        tokens: TokenSource,
        governor: RateGovernor,
        http: httpx.Client,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.division = division
        self.tokens = tokens
        self.governor = governor
        self.http = http
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._api = f"{self.base_url}{API_PATH}"
        self._write_headers: tuple[SecretStr, httpx.Headers] | None = None  # see _write_request

    @classmethod
    def for_connection(
        cls,
        app: App,
        name: str,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        http: httpx.Client | None = None,
    ) -> ExactClient:
        """The client of a stored connection. Keep one per connection: it holds token cache and rate state."""
        http = http or new_http_client()
        with app.db.session() as session:
            conn = get_connection(session, name)
            oauth = oauth_client(session, app.vault, conn, http)
            division = require_division(conn)
            base_url, conn_id = site_url(conn), conn.id
        tokens = TokenManager(
            db=app.db, vault=app.vault, connection_id=conn_id, connection_name=name, oauth=oauth, clock=clock
        )
        sleep = sleep or (clock.sleep if clock is not None else time.sleep)  # waits pass on the same clock
        governor = RateGovernor(division, db=app.db, clock=clock, sleep=sleep)
        return cls(
            base_url=base_url, division=division, tokens=tokens, governor=governor, http=http, sleep=sleep
        )

    def close(self) -> None:
        self.governor.persist()
        self.http.close()

    # -- reads --------------------

    def url(self, path: str) -> str:
        return f"{self._api}/{path}" if path == ME_PATH else f"{self._api}/{self.division}/{path}"

    def get_json(self, path_or_url: str, params: dict[str, str] | None = None) -> Any:
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else self.url(path_or_url)
        return self._json(self.request("GET", url, params=params), "GET", endpoint_of(url))

    def pages(self, path: str, query: odata.Query | None = None) -> Iterator[Page]:
        params = query.params() if query else None
        return iterate_pages(lambda: self.get_json(path, params), self.get_json)

    def iterate(self, entity: str, query: odata.Query | None = None) -> Iterator[dict[str, Any]]:
        """Every row of a collection, page by page through `__next` (lazy: one page in memory)."""
        params = query.params() if query else None
        path = entity_set(entity).path
        return iterate_rows(lambda: self.get_json(path, params), self.get_json)

    def list(self, entity: str, query: odata.Query | None = None) -> list[dict[str, Any]]:
        return list(self.iterate(entity, query))

    def first(self, entity: str, query: odata.Query) -> dict[str, Any] | None:
        """The first row of one page (no further pages are fetched)."""
        page = parse_page(self.get_json(entity_set(entity).path, query.params()))
        return page.rows[0] if page.rows else None

    def get(self, entity: str, key: str, select: Sequence[str] = ()) -> dict[str, Any] | None:
        """One record by GUID via a filtered collection: not found is 200 + empty, not a 404 error."""
        spec = entity_set(entity)
        return self.first(entity, odata.Query(filter=odata.eq(spec.key, odata.Guid(key)), select=select))

    def bulk(self, entity: str, select: Sequence[str], filter: str | None = None) -> Iterator[dict[str, Any]]:
        """The bulk endpoint (1000 rows a page); Exact requires `$select` there."""
        path = entity_set(entity).bulk_path
        if path is None:
            raise ValueError(f"Exact has no bulk endpoint for {entity}")
        if not select:
            raise ValueError(f"the bulk endpoint for {entity} needs a $select (Exact requires one)")
        params = odata.Query(filter=filter, select=select).params()
        return iterate_rows(lambda: self.get_json(path, params), self.get_json)

    def sync(self, entity: str, since: int, select: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Rows changed after sync Timestamp `since` (first run: 1). Keep the highest `Timestamp` seen."""
        path = entity_set(entity).sync_path
        if path is None:
            raise ValueError(f"Exact has no sync endpoint for {entity}")
        return self._sync_rows(path, since, select)

    def deleted(self, since: int, entity: str | None = None) -> Iterator[DeletedRecord]:
        """`sync/Deleted` after Timestamp `since`, optionally one entity's only (Exact keeps 2 months)."""
        wanted = entity_set(entity).deleted_type if entity else None
        if entity and wanted is None:
            raise ValueError(f"Exact does not report deletions of {entity} in sync/Deleted")
        for row in self._sync_rows(DELETED_PATH, since, ()):
            record = DeletedRecord.model_validate(row)
            if wanted is None or record.EntityType == wanted:
                yield record

    def _sync_rows(self, path: str, since: int, select: Sequence[str]) -> Iterator[dict[str, Any]]:
        params = odata.Query(
            filter=odata.compare("Timestamp", "gt", odata.Long(since)), select=select
        ).params()
        return iterate_rows(lambda: self.get_json(path, params), self.get_json)

    def me(self) -> Me:
        return Me.model_validate(parse_page(self.get_json(ME_PATH)).rows[0])

    # -- writes --------------------

    def create(self, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST; returns the created record (Prefer: return=representation). Never retried."""
        url = self.url(entity_set(entity).path)
        body = self._json(self.request("POST", url, json=payload), "POST", endpoint_of(url))
        try:
            return parse_single(body)
        except EnvelopeError as exc:  # created, but we cannot tell its id: the engine finds it by reference
            raise errors.outcome_unknown(
                endpoint_of(url), self.division, f"unexpected answer: {exc}"
            ) from exc

    def update(self, entity: str, key: str, payload: dict[str, Any]) -> None:
        spec = entity_set(entity)
        if not spec.updatable:
            raise ValueError(f"Exact does not allow updating {entity} (no PUT)")
        self.request("PUT", self.url(f"{spec.path}({odata.literal(odata.Guid(key))})"), json=payload)

    def delete(self, entity: str, key: str) -> None:
        spec = entity_set(entity)
        self.request("DELETE", self.url(f"{spec.path}({odata.literal(odata.Guid(key))})"))

    # -- the pipeline --------------------

    def request(
        self, method: str, url: str, *, params: dict[str, str] | None = None, json: Any = None
    ) -> httpx.Response:
        """Send one call (absolute URL) and return a 2xx response, or raise the matching error."""
        endpoint = endpoint_of(url)
        if method == "GET":
            try:
                response = send_idempotent(
                    lambda: self._send(method, url, endpoint, params, json),
                    method,
                    self._backoff,
                    self._sleep,
                )
            except httpx.TransportError as exc:
                raise errors.transient(endpoint, type(exc).__name__) from exc
        else:
            try:
                response = self._send(method, url, endpoint, params, json)
            except _NOT_SENT as exc:
                raise errors.transient(endpoint, f"{type(exc).__name__}, nothing was sent") from exc
            except _SENT_BUT_LOST as exc:
                raise errors.outcome_unknown(endpoint, self.division, type(exc).__name__) from exc
        return self._check(method, response, endpoint)

    def _send(
        self, method: str, url: str, endpoint: str, params: dict[str, str] | None, body: Any
    ) -> httpx.Response:
        token = self.tokens.access_token()
        renewed = False
        for _wait in range(MAX_RATE_WAITS):
            self.governor.acquire(endpoint)
            if method in ("POST", "PUT"):
                request = self._write_request(method, url, body, token)
            else:
                auth = {"Authorization": f"Bearer {token.get_secret_value()}"}
                request = self.http.build_request(method, url, params=params, headers=auth)
            try:
                response = self.http.send(request)
            except BaseException:
                self.governor.abandon()
                raise
            self.governor.observe(endpoint, response.status_code, response.headers)
            if response.status_code == 429:
                response.close()  # refused unprocessed: the governor now knows the reset and waits for it
                continue
            if response.status_code == 401 and not renewed:
                response.close()
                token, renewed = self.tokens.after_unauthorized(token), True
                continue
            return response
        return response

    def _write_request(self, method: str, url: str, body: Any, token: SecretStr) -> httpx.Request:
        """The request `http.build_request` would build for a write, built with less work per call (the
        sender makes writes back to back): the URL parsed once, the headers merged once per token."""
        cached = self._write_headers
        if cached is None or cached[0].get_secret_value() != token.get_secret_value():
            headers = httpx.Headers(self.http.headers)
            headers.update({"Authorization": f"Bearer {token.get_secret_value()}", **WRITE_HEADERS})
            self._write_headers = cached = (token, headers)
        return httpx.Request(
            method,
            _parsed_url(url),
            headers=cached[1],
            content=_json_bytes(body),
            cookies=self.http.cookies or None,  # Exact needs none, but what it set goes back as usual
            extensions={"timeout": self.http.timeout.as_dict()},
        )

    def _check(self, method: str, response: httpx.Response, endpoint: str) -> httpx.Response:
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status == 429:
            raise RateLimitedError(
                "Exact kept answering 429 after waiting for the rate-limit reset",
                system=errors.SYSTEM,
                endpoint=endpoint,
                status=status,
            )
        if status >= 500:
            if method == "GET":
                raise errors.transient(endpoint, errors.error_message(response), status)
            raise errors.outcome_unknown(
                endpoint, self.division, f"HTTP {status}: {errors.error_message(response)}"
            )
        if status == 401:
            raise AuthError(
                f"Exact refused the access token of division {self.division} even after a refresh: "
                f"{errors.error_message(response)}",
                system=errors.SYSTEM,
                endpoint=endpoint,
                status=status,
            )
        raise errors.rejected(response, endpoint, self.division)

    def _json(self, response: httpx.Response, method: str, endpoint: str) -> Any:
        """The JSON body; Exact sometimes answers 200 with an HTML maintenance page."""
        if "json" not in response.headers.get("Content-Type", ""):
            cause = f"HTTP {response.status_code} without JSON (maintenance page?)"
            if method == "GET":
                raise errors.transient(endpoint, cause, response.status_code)
            raise errors.outcome_unknown(endpoint, self.division, cause)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            if method == "GET":
                raise errors.transient(endpoint, "unreadable JSON", response.status_code) from exc
            raise errors.outcome_unknown(endpoint, self.division, "unreadable JSON") from exc


def _json_bytes(body: Any) -> bytes:
    """A JSON body as httpx encodes `json=` (compact, UTF-8, no NaN)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
