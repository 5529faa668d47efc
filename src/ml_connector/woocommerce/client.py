"""WooCommerce REST v3 client for one store: auth, retries, typed reads, paging and incremental reads."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from ml_connector.app import App
from ml_connector.http.backoff import Backoff
from ml_connector.http.errors import AuthError, OutcomeUnknownError, RejectedError, TransientError
from ml_connector.http.retry import IDEMPOTENT_METHODS, send_idempotent
from ml_connector.http.tls import tls_context
from ml_connector.secrets import secret
from ml_connector.store.connections import get_connection, get_credential
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.woocommerce import models
from ml_connector.woocommerce.auth import AUTH_MODES, AuthMode, build_auth
from ml_connector.woocommerce.errors import SYSTEM, WooErrorMixin, error_for_response
from ml_connector.woocommerce.paging import MAX_PER_PAGE, PageStats, iterate
from ml_connector.woocommerce.versions import MODIFIED_AFTER_SINCE, parse_version

log = structlog.get_logger(__name__)

API_PREFIX = "/wp-json/wc/v3"
DEFAULT_OVERLAP = timedelta(seconds=1)  # modified_after is strict and dates have 1 s resolution
M = TypeVar("M", bound=BaseModel)
ModifiedResource = Literal["orders", "products", "coupons"]


class WooTLSError(WooErrorMixin, RejectedError):
    """The store's TLS certificate is not trusted: retrying will not help."""


class InvalidRecordError(WooErrorMixin, RejectedError):
    """A record from the store does not have the shape WooCommerce documents."""


def gmt(moment: datetime) -> str:
    """A timestamp for WooCommerce date filters, sent together with `dates_are_gmt=true`.

    Without that flag (or a Z suffix) the store reads a bare timestamp as store-local time.
    """
    if moment.tzinfo is None:
        raise ValueError(f"refusing a naive datetime {moment!r} as a WooCommerce filter: give it a timezone")
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _tls_verify(verify_tls: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    return tls_context(ca_bundle) if verify_tls or ca_bundle else False


def site_url(base_url: str) -> str:
    """The store's address without a trailing slash or an accidental /wp-json suffix."""
    url = base_url.strip().rstrip("/")
    for suffix in (API_PREFIX, "/wp-json"):
        url = url.removesuffix(suffix)
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(
            f"WooCommerce base URL {base_url!r} is not an http(s) address like https://shop.example"
        )
    return url


class WooClient:
    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        auth_mode: AuthMode,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        name: str | None = None,
    ) -> None:
        self.site_url = site_url(base_url)
        self.auth_mode = auth_mode
        self.name = name or self.site_url
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._http = httpx.Client(
            auth=auth,
            verify=_tls_verify(verify_tls, ca_bundle),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect would re-send credentials; WooCommerce never needs one
            headers={"Accept": "application/json", "User-Agent": "ml-connector"},
        )
        self._modified_after: bool | None = None
        self.last_page_stats = PageStats()

    @classmethod
    def for_connection(cls, app: App, name: str, **overrides: Any) -> WooClient:
        with app.db.session() as session:
            conn = get_connection(session, name)
        return cls.for_connection_row(app, conn, **overrides)

    @classmethod
    def for_connection_row(
        cls, app: App, conn: Connection, *, auth_mode: AuthMode | None = None, **overrides: Any
    ) -> WooClient:
        """A client for a stored connection; `auth_mode` overrides the connection's (ping tries others)."""
        if conn.kind != ConnectionKind.WOOCOMMERCE:
            raise ValueError(f"connection '{conn.name}' is a {conn.kind} connection, not a WooCommerce one")
        if not conn.base_url:
            raise ValueError(f"connection '{conn.name}' has no base_url; set the store's https:// address")
        settings = dict(conn.settings or {})
        mode = auth_mode or str(settings.get("auth_mode") or "basic")
        if mode not in AUTH_MODES:
            raise ValueError(
                f"connection '{conn.name}': auth_mode {mode!r} is not one of {', '.join(AUTH_MODES)}"
            )
        signature_method = settings.get("signature_method", "HMAC-SHA256")
        if signature_method not in ("HMAC-SHA256", "HMAC-SHA1"):
            raise ValueError(
                f"connection '{conn.name}': signature_method {signature_method!r} must be HMAC-SHA256 "
                "or HMAC-SHA1"
            )
        with app.db.session() as session:
            key = get_credential(session, app.vault, conn, "consumer_key").get_secret_value()
            consumer_secret = get_credential(session, app.vault, conn, "consumer_secret")
        secret(consumer_secret.get_secret_value())  # registered for redaction
        return cls(
            conn.base_url,
            build_auth(mode, key, consumer_secret, signature_method=signature_method),
            auth_mode=mode,
            verify_tls=bool(settings.get("verify_tls", True)),
            ca_bundle=settings.get("ca_bundle"),
            name=conn.name,
            **overrides,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WooClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL of an API path ("orders/25") or a site path ("/wp-json/")."""
        if path.startswith("/"):
            return self.site_url + path
        return f"{self.site_url}{API_PREFIX}/{path.lstrip('/')}"

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | httpx.QueryParams | None = None,
        json: Any = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """One request; GETs are retried on 429/5xx/timeouts, writes never. Non-2xx raises.

        `authenticated=False` sends no credentials (the public /wp-json/ index).
        """
        method = method.upper()
        endpoint = f"{method} {path}"
        request = self._http.build_request(method, self.url(path), params=params, json=json)
        write = method not in IDEMPOTENT_METHODS
        try:
            response = send_idempotent(
                lambda: self._http.send(request, auth=httpx.USE_CLIENT_DEFAULT if authenticated else None),
                method,
                self._backoff,
                self._sleep,
            )
        except httpx.ConnectError as exc:
            raise self._connect_error(exc, endpoint) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            kind = type(exc).__name__
            if write and not isinstance(exc, httpx.ConnectTimeout):
                raise OutcomeUnknownError(
                    f"no answer from the store ({kind}): the write may have happened; verify before retrying",
                    system=SYSTEM,
                    endpoint=endpoint,
                ) from None
            raise TransientError(
                f"the store did not answer ({kind}); it will be tried again", system=SYSTEM, endpoint=endpoint
            ) from None
        if response.is_success:
            return response
        raise error_for_response(response, endpoint=endpoint, auth_mode=self.auth_mode, write=write)

    def _connect_error(self, exc: httpx.ConnectError, endpoint: str) -> Exception:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            error = WooTLSError(
                "the store's TLS certificate is not trusted (self-signed or incomplete chain): install a "
                "valid certificate, or point the connection's ca_bundle setting at the CA that signed it",
                system=SYSTEM,
                endpoint=endpoint,
                detail=text,
            )
            error.code = "tls"
            return error
        return TransientError(
            f"cannot reach the store at {self.site_url} ({text or type(exc).__name__}): check the address "
            "and that the site is up",
            system=SYSTEM,
            endpoint=endpoint,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.send("GET", path, params=params).json()

    def post(self, path: str, json: Any, params: Mapping[str, Any] | None = None) -> Any:
        return self.send("POST", path, params=params, json=json).json()

    def put(self, path: str, json: Any) -> Any:
        return self.send("PUT", path, json=json).json()

    def delete(self, path: str, *, force: bool = True) -> Any:
        return self.send("DELETE", path, params={"force": "true" if force else "false"}).json()

    def iterate(
        self, path: str, params: Mapping[str, Any] | None = None, *, per_page: int = MAX_PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every row of a collection, lazily, in id order unless `params` says otherwise."""
        stats = PageStats()
        self.last_page_stats = stats
        query = {"orderby": "id", "order": "asc", **_wp_query(params or {})}
        yield from iterate(lambda q: self.send("GET", path, params=q), query, per_page=per_page, stats=stats)

    def parse(self, model: type[M], raw: Any, what: str) -> M:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            ident = raw.get("id") if isinstance(raw, dict) else None
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
            )
            error = InvalidRecordError(
                f"{what} {ident} from store '{self.name}' does not look like WooCommerce REST v3 data "
                f"({problems}); a plugin may change the API output: check the record in the store admin",
                system=SYSTEM,
                endpoint=what,
            )
            error.code = "invalid_record"
            raise error from None

    def _typed(self, model: type[M], rows: Iterator[dict[str, Any]], what: str) -> Iterator[M]:
        return (self.parse(model, row, what) for row in rows)

    # -- resources --------------------------------------------------------------------------------------

    def orders(self, **params: Any) -> Iterator[models.Order]:
        return self._typed(models.Order, self.iterate("orders", params), "order")

    def order(self, order_id: int) -> models.Order:
        return self.parse(models.Order, self.get(f"orders/{order_id}"), "order")

    def refunds(self, order_id: int) -> Iterator[models.Refund]:
        return self._typed(models.Refund, self.iterate(f"orders/{order_id}/refunds"), "refund")

    def refund(self, order_id: int, refund_id: int) -> models.Refund:
        return self.parse(models.Refund, self.get(f"orders/{order_id}/refunds/{refund_id}"), "refund")

    def customers(self, **params: Any) -> Iterator[models.Customer]:
        # role=all: buyers can be subscribers or other roles; WooCommerce's default lists only "customer".
        query = {"role": "all", **params}
        return self._typed(models.Customer, self.iterate("customers", query), "customer")

    def customer(self, customer_id: int) -> models.Customer:
        return self.parse(models.Customer, self.get(f"customers/{customer_id}"), "customer")

    def products(self, **params: Any) -> Iterator[models.Product]:
        return self._typed(models.Product, self.iterate("products", params), "product")

    def product(self, product_id: int) -> models.Product:
        return self.parse(models.Product, self.get(f"products/{product_id}"), "product")

    def variations(self, product_id: int, **params: Any) -> Iterator[models.Variation]:
        rows = self.iterate(f"products/{product_id}/variations", params)
        return self._typed(models.Variation, rows, "variation")

    def variation(self, product_id: int, variation_id: int) -> models.Variation:
        raw = self.get(f"products/{product_id}/variations/{variation_id}")
        return self.parse(models.Variation, raw, "variation")

    def update_product(self, product_id: int, fields: Mapping[str, Any]) -> models.Product:
        return self.parse(models.Product, self.put(f"products/{product_id}", dict(fields)), "product")

    def update_variation(
        self, product_id: int, variation_id: int, fields: Mapping[str, Any]
    ) -> models.Variation:
        raw = self.put(f"products/{product_id}/variations/{variation_id}", dict(fields))
        return self.parse(models.Variation, raw, "variation")

    def coupons(self, **params: Any) -> Iterator[models.Coupon]:
        return self._typed(models.Coupon, self.iterate("coupons", params), "coupon")

    def tax_rates(self) -> Iterator[models.TaxRate]:
        return self._typed(models.TaxRate, self.iterate("taxes", {"orderby": "id"}), "tax rate")

    def webhooks(self, status: str = "all") -> Iterator[models.Webhook]:
        return self._typed(models.Webhook, self.iterate("webhooks", {"status": status}), "webhook")

    def create_webhook(self, fields: Mapping[str, Any]) -> models.Webhook:
        return self.parse(models.Webhook, self.post("webhooks", dict(fields)), "webhook")

    def update_webhook(self, webhook_id: int, fields: Mapping[str, Any]) -> models.Webhook:
        return self.parse(models.Webhook, self.put(f"webhooks/{webhook_id}", dict(fields)), "webhook")

    def delete_webhook(self, webhook_id: int) -> None:
        self.delete(f"webhooks/{webhook_id}", force=True)

    # -- versions and incremental reads -----------------------------------------------------------------

    def system_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.get("system_status")
        return status

    def woocommerce_version(self) -> str | None:
        """WooCommerce's version from system_status (needs a key of an admin/shop manager)."""
        environment = self.system_status().get("environment") or {}
        version = environment.get("version")
        return str(version) if version else None

    def supports_modified_after(self) -> bool:
        """Whether list endpoints filter on modified date (WooCommerce 5.8+); asked once per client."""
        if self._modified_after is None:
            self._modified_after = self._detect_modified_after()
        return self._modified_after

    def _detect_modified_after(self) -> bool:
        try:
            version = self.woocommerce_version()
        except (AuthError, RejectedError) as exc:
            log.info("woocommerce.version_unavailable", store=self.name, reason=str(exc))
            version = None
        if version:
            return parse_version(version) >= MODIFIED_AFTER_SINCE
        # Without system_status access: the namespace index lists each route's accepted arguments.
        index = self.get("/wp-json/wc/v3")
        endpoints = (index.get("routes") or {}).get("/wc/v3/orders", {}).get("endpoints", [])
        return any("modified_after" in (endpoint.get("args") or {}) for endpoint in endpoints)

    def changed(
        self,
        resource: ModifiedResource,
        since: datetime | None,
        *,
        until: datetime | None = None,
        overlap: timedelta = DEFAULT_OVERLAP,
        full_rescan: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows of `resource` modified after `since` (minus `overlap`) and up to `until`.

        The window overlaps the previous one, so the caller sees some rows again and must de-duplicate on
        (id, date_modified_gmt). Bounding the window with `until` (the scan's start) keeps rows changed
        during the scan for the next window instead of shifting pages under this one; store `until` as
        the next `since` once the scan has completed.
        On WooCommerce before 5.8 (no modified filters), it warns and reads rows CREATED after `since`
        (`after`); with `full_rescan` it reads everything and filters on date_modified_gmt itself.
        """
        query: dict[str, Any] = {"dates_are_gmt": "true", **(params or {})}
        lower = since - overlap if since is not None else None
        if self.supports_modified_after():
            if lower is not None:
                query["modified_after"] = gmt(lower)
            if until is not None:
                query["modified_before"] = gmt(until)
            yield from self.iterate(resource, query)
            return
        log.warning(
            "woocommerce.no_modified_after",
            store=self.name,
            message=(
                f"store '{self.name}' runs WooCommerce older than 5.8, which cannot filter on modified date: "
                + (
                    "re-scanning every record"
                    if full_rescan or lower is None
                    else "reading only records created since the last run; changes to older records are "
                    "found by the next full re-scan"
                )
                + ". Update WooCommerce to 5.8 or later."
            ),
        )
        if full_rescan or lower is None:
            yield from _modified_between(self.iterate(resource, query), lower, until)
            return
        query["after"] = gmt(lower)
        yield from _modified_between(self.iterate(resource, query), lower, until)

    def changed_orders(self, since: datetime | None, **kwargs: Any) -> Iterator[models.Order]:
        return self._typed(models.Order, self.changed("orders", since, **kwargs), "order")

    def changed_products(self, since: datetime | None, **kwargs: Any) -> Iterator[models.Product]:
        return self._typed(models.Product, self.changed("products", since, **kwargs), "product")

    def changed_coupons(self, since: datetime | None, **kwargs: Any) -> Iterator[models.Coupon]:
        return self._typed(models.Coupon, self.changed("coupons", since, **kwargs), "coupon")

    def changed_customers(
        self, since: datetime | None, *, until: datetime | None = None, overlap: timedelta = DEFAULT_OVERLAP
    ) -> Iterator[models.Customer]:
        """Customers changed after `since`: the API has no modified filter, so read all, compare locally."""
        lower = since - overlap if since is not None else None
        for customer in self.customers():
            if (lower is None or customer.changed_at > lower) and (
                until is None or customer.changed_at <= until
            ):
                yield customer


def _wp_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """List values as WordPress reads them: "a,b" (PHP keeps only the last of repeated `status=` keys)."""
    return {
        key: ",".join(str(item) for item in value) if isinstance(value, list | tuple | set) else value
        for key, value in params.items()
    }


def _modified_between(
    rows: Iterator[dict[str, Any]], lower: datetime | None, until: datetime | None
) -> Iterator[dict[str, Any]]:
    for row in rows:
        modified = models.parse_utc(row.get("date_modified_gmt") or row.get("date_created_gmt"))
        if modified is None or ((lower is None or modified > lower) and (until is None or modified <= until)):
            yield row
