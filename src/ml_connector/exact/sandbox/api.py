"""The REST API under /api/v1: authentication, division access, limits, OData reads and writes.

Request order follows Exact: bearer token (401), endpoint error block, rate limit (429, not counted),
division access (403 WrongDivision), then the call itself. Every counted answer carries the
`X-RateLimit-*` headers; 400/401/403/404 answers feed the errors-per-endpoint budget.
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .documents import Books
from .formats import ExactError, bad_request, error_response, json_response
from .oauth import Grant
from .odata import (
    Compare,
    Field,
    Lit,
    Query,
    compile_filter,
    equality_terms,
    parse_query,
    referenced_fields,
    sort_key,
)
from .records import entity_uri, metadata
from .schema import (
    BULK_PATHS,
    DELETED_PATH,
    LINES,
    SYNC_PATHS,
    EntitySpec,
    by_service_path,
    entities,
    singular,
)
from .state import SandboxState
from .store import Division, Table
from .webhooks import validate_callback

_URL_SAFE = "$'(),/"
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Exact Online - Maintenance</title></head>"
    "<body><h1>Exact Online is being updated</h1><p>Please try again in a few minutes.</p></body></html>"
)
PAGE_SIZE = 60
MAX_BODY_BYTES = 10 * 1024 * 1024  # Exact's POST size limit
BULK_PAGE_SIZE = 1000
DELETED_RETENTION_SECONDS = 61 * 86400  # "kept for 2 months only"
SELECT_REQUIRED = "Please add a $select or a $top=1 statement to the query string."
WEBHOOK_TOPICS = frozenset(s.webhook_topic for s in entities().values() if s.webhook_topic)

_RESOURCE_RE = re.compile(
    r"^(?P<set>[A-Za-z]+/[A-Za-z]+(?:/[A-Za-z]+)?)(?:\((?P<key>[^)]*)\))?(?:/(?P<nav>\$?[A-Za-z]+))?$"
)
_KEY_RE = re.compile(r"^guid'(?P<guid>[0-9a-fA-F-]{36})'$|^(?P<number>\d+)$")
# Header fields repeated on every row of the combined sync/SalesInvoice/SalesInvoices stream.
_SYNC_INVOICE_HEADER = (
    "InvoiceID",
    "InvoiceNumber",
    "InvoiceDate",
    "OrderedBy",
    "InvoiceTo",
    "Journal",
    "Status",
    "YourRef",
)


@cache
def field_types(entity: str, with_timestamp: bool = False) -> dict[str, str]:
    types = {f.name: f.edm for f in entities()[entity].fields}
    if entity == "SalesInvoices" and with_timestamp:  # the combined header+lines sync stream
        types.update({f.name: f.edm for f in entities()["SalesInvoiceLines"].scalar_fields})
    if with_timestamp:
        types["Timestamp"] = "Edm.Int64"
    return types


class RestApi:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        state = self.state
        grant, refusal = state.oauth.authenticate(request.headers.get("authorization"))
        path: str = request.path_params["path"]
        division_number, resource = self._split(path)
        endpoint = re.sub(r"\(.*", "", resource).lower()
        if grant is None or refusal:
            if grant is not None:  # an expired token still names the app: the 401 counts as an error
                state.limiter.record_status((grant.client_id, division_number), endpoint, 401)
            return error_response(401, refusal)
        if state.maintenance:
            # Exact sometimes answers 200 with an HTML maintenance page (exact-online.md §3.6).
            return HTMLResponse(MAINTENANCE_PAGE, status_code=200)
        scope = (grant.client_id, division_number)
        admission = state.limiter.admit(scope, endpoint)
        if not admission.allowed:
            return error_response(admission.status, admission.message, admission.headers)
        try:
            division = state.division(division_number)
            with state.lock:
                division.api_calls += 1
                state.seen_at(str(request.base_url))
            response = await self._handle(request, grant, division, resource)
        except ExactError as error:
            response = error.response()
        response.headers.update(admission.headers)
        state.limiter.record_status(scope, endpoint, response.status_code)
        return response

    def _split(self, path: str) -> tuple[int, str]:
        if path.lower().startswith("current/me"):
            return self.state.current_division, path
        head, _, rest = path.partition("/")
        if not head.isdigit():
            return -1, path  # answered with 403 WrongDivision, as for any division the token cannot use
        return int(head), rest

    async def _handle(self, request: Request, grant: Grant, division: Division, resource: str) -> Response:
        method = request.method
        if method in ("GET", "POST") and not _accepts_json(request.headers.get("accept", "")):
            raise ExactError(406, "Send 'Accept: application/json': without it Exact answers in Atom XML.")
        lowered = resource.lower()
        if lowered.startswith("current/me"):
            return self._me(request)
        if lowered == DELETED_PATH:
            return self._deleted(request, division)
        if lowered in SYNC_PATHS:
            return self._sync(request, division, SYNC_PATHS[lowered])
        if lowered in BULK_PATHS:
            return self._collection(request, division, entities()[BULK_PATHS[lowered]], bulk=True)
        match = _RESOURCE_RE.match(resource)
        spec = by_service_path().get(match.group("set").lower()) if match else None
        if match is None or spec is None:
            raise ExactError(404, f"Resource not found for the segment '{resource}'.")
        key, nav = match.group("key"), match.group("nav")
        if spec.name == "Divisions":
            return self._divisions(request)
        if method not in spec.methods:
            raise ExactError(405, f"{spec.name} does not support {method} in Exact Online.")
        if key is None:
            if nav == "$count" and method == "GET":
                return Response(str(len(division.table(spec.name))), media_type="text/plain")
            if nav is not None:
                raise ExactError(404, f"Resource not found for the segment '{resource}'.")
            if method == "GET":
                return self._collection(request, division, spec)
            if method == "POST":
                return await self._create(request, grant, division, spec)
            raise ExactError(405, f"{method} needs a key: {spec.service_path}(guid'...').")
        key = _parse_key(key)
        if method == "GET":
            return self._single(request, division, spec, key, nav)
        if method == "PUT":
            body = await _json_body(request)
            self.state.write(division.number, lambda books: books.update(spec.name, key, body))
            return Response(status_code=204)
        self.state.write(division.number, lambda books: books.delete(spec.name, key))
        return Response(status_code=204)

    # ------------------------------------------------------------------ reads

    def _render(
        self,
        spec: EntitySpec,
        row: dict[str, Any],
        division: int | None,
        query: Query,
        inline_lines: bool = False,
    ) -> dict[str, Any]:
        base = self.state.base_url
        key = row[spec.key]
        out: dict[str, Any] = {"__metadata": metadata(base, division, spec, key)}
        fields = [spec.by_name[name] for name in query.select] if query.select else spec.fields
        for field in fields:
            name = field.name
            if not field.is_collection:
                out[name] = row.get(name)
            elif name == _lines_property(spec) and (inline_lines or name in query.expand):
                out[name] = {"results": self._lines(spec, key, division)}
            else:
                out[name] = {"__deferred": {"uri": f"{entity_uri(base, division, spec, key)}/{name}"}}
        return out

    def _lines(self, spec: EntitySpec, key: str, division: int | None) -> list[dict[str, Any]]:
        lines_entity, _, foreign_key = LINES[spec.name]
        table = self.state.divisions[division or 0].table(lines_entity)
        rows = sorted(
            (table.rows[k] for k in table.lookup(foreign_key, key) or ()),
            key=lambda r: r.get("LineNumber") or 0,
        )
        return [self._render(table.spec, row, division, Query()) for row in rows]

    def _me(self, request: Request) -> Response:
        spec = entities()["Me"]
        query = parse_query(request.query_params, field_types("Me"), spec.type_name)
        row = self.state.me()
        record = self._render(spec, row, None, query)
        return json_response({"d": {"results": [record]}})

    def _divisions(self, request: Request) -> Response:
        spec = entities()["Divisions"]
        query = parse_query(request.query_params, field_types("Divisions"), spec.type_name)
        rows = [
            self._render(spec, row, self.state.current_division, query) for row in self.state.division_rows()
        ]
        return json_response({"d": {"results": rows}})

    def _single(
        self, request: Request, division: Division, spec: EntitySpec, key: str, nav: str | None
    ) -> Response:
        query = parse_query(request.query_params, field_types(spec.name), spec.type_name)
        with self.state.lock:
            row = division.table(spec.name).get(key)
            if row is None:
                raise ExactError(404, f"{spec.name}({key}) does not exist in division {division.number}.")
            if nav is not None:
                if spec.name in LINES and nav == LINES[spec.name][1]:
                    return json_response({"d": {"results": self._lines(spec, key, division.number)}})
                if spec.edm(nav) and spec.by_name[nav].is_collection:
                    return json_response({"d": {"results": []}})
                raise ExactError(404, f"Resource not found for the segment '{nav}'.")
            # A key lookup answers {"d": {...}}, lines inline (exact-samples/salesinvoice_single.json).
            return json_response({"d": self._render(spec, row, division.number, query, inline_lines=True)})

    def _collection(
        self, request: Request, division: Division, spec: EntitySpec, bulk: bool = False
    ) -> Response:
        params = dict(request.query_params)
        if bulk and "$select" not in params:
            raise bad_request(SELECT_REQUIRED)
        query = parse_query(params, field_types(spec.name), spec.type_name)
        with self.state.lock:
            table = division.table(spec.name)
            rows = self._matching(table, query)
            count = len(rows)
            if query.orderby:
                rows.sort(key=lambda r: str(r[spec.key]))
                rows.sort(key=sort_key(query.orderby, field_types(spec.name)))
            else:
                rows.sort(key=lambda r: str(r[spec.key]))
                if query.skiptoken:
                    after = _parse_key(query.skiptoken)
                    rows = [r for r in rows if str(r[spec.key]) > after]
            page, more = _page(rows, query, BULK_PAGE_SIZE if bulk else PAGE_SIZE)
            results = [self._render(spec, row, division.number, query) for row in page]
        body: dict[str, Any] = {"results": results}
        if query.inlinecount:
            body["__count"] = str(count)
        if more:
            body["__next"] = self._next_url(request, params, query, page, spec, more)
        return json_response({"d": body})

    def _matching(self, table: Table, query: Query) -> list[dict[str, Any]]:
        candidates: Any = None
        if query.filter is not None:
            for name, value in equality_terms(query.filter):
                keys = table.lookup(name, value)
                if keys is not None and (candidates is None or len(keys) < len(candidates)):
                    candidates = keys
        rows = [table.rows[k] for k in candidates] if candidates is not None else list(table.values())
        if query.filter is not None:
            predicate = compile_filter(query.filter)
            rows = [r for r in rows if predicate(r)]
        return rows

    def _next_url(
        self,
        request: Request,
        params: dict[str, str],
        query: Query,
        page: list[dict[str, Any]],
        spec: EntitySpec,
        more: int,
    ) -> str:
        following = dict(params)
        following.pop("$skiptoken", None)
        if query.orderby:
            following["$skip"] = str(query.skip + len(page))
        else:
            following.pop("$skip", None)
            following["$skiptoken"] = f"guid'{page[-1][spec.key]}'"
        if query.top is not None:
            following["$top"] = str(more)
        return _url(self.state.base_url, request.url.path, following)

    def _sync(self, request: Request, division: Division, entity: str) -> Response:
        params = dict(request.query_params)
        types = field_types(entity, with_timestamp=True)
        spec = entities()[entity]
        query = parse_query(params, types, f"Exact.Web.Api.Models.Sync.{singular(entity)}")
        since = _timestamp_floor(query)
        with self.state.lock:
            changed: Iterator[tuple[int, dict[str, Any]]] = division.table(entity).changed_since(since)
            if entity == "SalesInvoices":
                changed = self._invoice_stream(division, since, changed)
            rows = ({**row, "Timestamp": stamp} for stamp, row in changed)
            page, more = _stream_page(rows, query)
            results = [self._sync_record(spec, row, division.number, query.select) for row in page]
        return self._timestamp_paged(request, params, results, page, more)

    def _timestamp_paged(
        self,
        request: Request,
        params: dict[str, str],
        results: list[dict[str, Any]],
        page: list[dict[str, Any]],
        more: bool,
    ) -> Response:
        """Sync answers continue after the last Timestamp: `$skiptoken=<Timestamp>L`."""
        body: dict[str, Any] = {"results": results}
        if more:
            following = {**params, "$skiptoken": f"{page[-1]['Timestamp']}L"}
            following.pop("$skip", None)
            body["__next"] = _url(self.state.base_url, request.url.path, following)
        return json_response({"d": body})

    def _sync_record(
        self, spec: EntitySpec, row: dict[str, Any], division: int, select: tuple[str, ...] | None
    ) -> dict[str, Any]:
        """A sync row: flat properties plus Timestamp (sync models carry no navigation properties)."""
        sync_type = f"Exact.Web.Api.Models.Sync.{singular(spec.name)}"
        out: dict[str, Any] = {
            "__metadata": metadata(self.state.base_url, division, spec, row[spec.key], sync_type)
        }
        names = select or tuple(row)
        out.update({name: row.get(name) for name in names})
        return out

    def _invoice_stream(
        self, division: Division, since: int, headers: Iterator[tuple[int, dict[str, Any]]]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """sync/SalesInvoice/SalesInvoices: LineNumber 0 is the header, >= 1 a line, in Timestamp order."""
        invoices = division.table("SalesInvoices")

        def header_rows() -> Iterator[tuple[int, dict[str, Any]]]:
            for stamp, row in headers:
                yield stamp, {**row, "LineNumber": 0, "ID": row["InvoiceID"]}

        def line_rows() -> Iterator[tuple[int, dict[str, Any]]]:
            for stamp, line in division.table("SalesInvoiceLines").changed_since(since):
                header = invoices.get(line["InvoiceID"]) or {}
                yield stamp, {**{k: header.get(k) for k in _SYNC_INVOICE_HEADER}, **line}

        return heapq.merge(header_rows(), line_rows(), key=lambda item: item[0])

    def _deleted(self, request: Request, division: Division) -> Response:
        params = dict(request.query_params)
        types = {
            "Timestamp": "Edm.Int64",
            "ID": "Edm.Guid",
            "EntityKey": "Edm.Guid",
            "EntityType": "Edm.Int32",
            "DeletedBy": "Edm.Guid",
            "DeletedDate": "Edm.DateTime",
            "Division": "Edm.Int32",
        }
        query = parse_query(params, types, "Exact.Web.Api.Models.Sync.Deleted")
        since = _timestamp_floor(query)
        now = self.state.clock.time()
        with self.state.lock:
            division.deleted = [d for d in division.deleted if now - d.deleted_at < DELETED_RETENTION_SECONDS]
            page, more = _stream_page((dict(d.row) for d in division.deleted if d.timestamp > since), query)
        base = self.state.base_url
        results = [
            {
                "__metadata": {
                    "uri": f"{base}/api/v1/{division.number}/sync/Deleted({row['Timestamp']}L)",
                    "type": "Exact.Web.Api.Models.Sync.Deleted",
                },
                **row,
            }
            for row in page
        ]
        return self._timestamp_paged(request, params, results, page, more)

    # ------------------------------------------------------------------ writes

    async def _create(self, request: Request, grant: Grant, division: Division, spec: EntitySpec) -> Response:
        body = await _json_body(request)
        if spec.name == "WebhookSubscriptions":
            row = await self._subscribe(grant, division, body)
        elif spec.name == "PrintedSalesInvoices":
            row = self.state.write(division.number, lambda books: books.process_invoice(body))
        else:
            row = self.state.write(division.number, lambda books: books.create(spec.name, body))
        full = "return=representation" in request.headers.get("prefer", "")
        with self.state.lock:
            record = self._render(spec, row, division.number, Query(), inline_lines=True)
        if not full:
            # Without `Prefer: return=representation` Exact fills only the new key (exact-online.md §3.7).
            record = {k: (v if k in ("__metadata", spec.key) else None) for k, v in record.items()}
        return json_response({"d": record}, 201)

    async def _subscribe(self, grant: Grant, division: Division, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request(
                "Error processing request stream. The request should be a valid top-level resource object."
            )
        body = dict(body)
        if body.pop("IsInstant", False):  # picqer's model has it; Exact allows it for GoodsDeliveries only
            raise bad_request("IsInstant: instant delivery is only supported for topic 'GoodsDeliveries'.")
        topic, callback = body.get("Topic"), body.get("CallbackURL")
        for name, value in (("CallbackURL", callback), ("Topic", topic)):
            if not value:
                raise bad_request(f"Mandatory field missing: {name} (WebhookSubscriptions).")
        if topic not in WEBHOOK_TOPICS:
            raise bad_request(
                f"Topic '{topic}' is not supported. Supported topics: {', '.join(sorted(WEBHOOK_TOPICS))}."
            )
        if not str(callback).startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise bad_request(
                "CallbackURL must use https (plain http is accepted only for loopback addresses here)."
            )
        with self.state.lock:
            subscriptions = division.table("WebhookSubscriptions")
            if subscriptions.lookup("Topic", topic):
                raise ExactError(500, "Data already exists")
        await validate_callback(str(callback))

        def subscribe(books: Books) -> dict[str, Any]:
            if books.division.table("WebhookSubscriptions").lookup("Topic", topic):
                raise ExactError(500, "Data already exists")
            row = books.create("WebhookSubscriptions", body)
            row.update(ClientID=grant.client_id, UserID=grant.user_id, Description=topic)
            return row

        return self.state.write(division.number, subscribe)


def _lines_property(spec: EntitySpec) -> str | None:
    return LINES[spec.name][1] if spec.name in LINES else None


def _url(base: str, path: str, params: dict[str, str]) -> str:
    """An absolute `__next` URL; `$`, quotes and parentheses stay readable like Exact's."""
    return f"{base}{path}?{urlencode(params, safe=_URL_SAFE, quote_via=quote)}"


def _accepts_json(accept: str) -> bool:
    return "application/json" in accept.lower()


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ExactError(413, "The request is larger than the 10 MB Exact accepts.")
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise bad_request(
            "Error processing request stream. The request should be a valid top-level resource object."
        ) from None


def _parse_key(text: str) -> str:
    match = _KEY_RE.match(text.strip())
    if match is None:
        raise bad_request(f"Bad key '{text}': use guid'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'.")
    return (match.group("guid") or match.group("number")).lower()


def _page(rows: list[dict[str, Any]], query: Query, size: int) -> tuple[list[dict[str, Any]], int]:
    """The page to answer and how many rows remain after it (within $top)."""
    remaining = rows[query.skip :] if query.skip else rows
    if query.top is not None:
        remaining = remaining[: query.top]
    return remaining[:size], max(0, len(remaining) - size)


def _stream_page(rows: Iterable[dict[str, Any]], query: Query) -> tuple[list[dict[str, Any]], bool]:
    """One page of a Timestamp-ordered stream, read lazily: (rows, whether more follow)."""
    if query.filter is not None:
        rows = filter(compile_filter(query.filter), rows)
    stop = None if query.top is None else query.skip + query.top
    page = list(itertools.islice(itertools.islice(rows, query.skip, stop), BULK_PAGE_SIZE + 1))
    return page[:BULK_PAGE_SIZE], len(page) > BULK_PAGE_SIZE


def _timestamp_floor(query: Query) -> int:
    """Sync endpoints filter on Timestamp only; returns N of `Timestamp gt N` (or the $skiptoken)."""
    floor = 0
    if query.filter is not None:
        if referenced_fields(query.filter) - {"Timestamp"}:
            raise bad_request(
                "Only the Timestamp property can be filtered on sync endpoints: use 'Timestamp gt N'."
            )
        node = query.filter
        if isinstance(node, Compare) and isinstance(node.left, Field) and isinstance(node.right, Lit):
            value = int(node.right.value)
            floor = value if node.op == "gt" else value - 1 if node.op == "ge" else 0
    if query.skiptoken:
        token = query.skiptoken.rstrip("Ll")
        if not token.isdigit():
            raise bad_request(f"Bad $skiptoken '{query.skiptoken}' for a sync endpoint.")
        floor = max(floor, int(token))
    return floor
