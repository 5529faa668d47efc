"""REST client for Adobe Commerce (Magento 2): PaaS/on-prem with OAuth1, SaaS with Adobe IMS.

Reads retry with backoff on 429 (honouring Retry-After), 5xx and timeouts; writes are sent once and a lost
answer surfaces as OutcomeUnknownError for the engine to verify. Magento's `{"message", "parameters"}` error
bodies become typed exceptions with the placeholders filled in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Generic, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from ml_connector.adobe_commerce.auth import ImsAuth, IntegrationBearerAuth
from ml_connector.adobe_commerce.config import AdobeConfig, AdobeConfigError, AuthMode
from ml_connector.adobe_commerce.errors import (
    SYSTEM,
    AdobeAuthError,
    AdobeRejectedError,
    error_for_response,
    error_for_transport,
)
from ml_connector.adobe_commerce.ims import ImsTokenSource
from ml_connector.adobe_commerce.models import (
    Category,
    CreditMemo,
    Customer,
    Invoice,
    MagentoModel,
    Order,
    Product,
    SearchPage,
    StoreConfig,
)
from ml_connector.adobe_commerce.paging import (
    DEFAULT_OVERLAP,
    IncrementalRead,
    RawPage,
    Watermark,
    iter_items,
)
from ml_connector.adobe_commerce.search import SearchCriteria
from ml_connector.app import App
from ml_connector.http.backoff import Backoff
from ml_connector.http.oauth1 import OAuth1Signer
from ml_connector.http.retry import send_idempotent
from ml_connector.http.tls import tls_context
from ml_connector.sandbox_kit.clock import Clock
from ml_connector.store.connections import get_connection, get_credential
from ml_connector.store.models import Connection, ConnectionKind

T = TypeVar("T", bound=MagentoModel)

PAAS_CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
BEARER_HINT = (
    "Magento 2.4.4 and later refuse an integration access token used as a bearer token unless "
    "'Allow OAuth Access Tokens to be used as standalone Bearer tokens' is enabled "
    "(oauth/consumer/enable_integration_as_bearer); use auth_mode=oauth1 (recommended) instead"
)


@dataclass(frozen=True)
class Resource(Generic[T]):
    """A searchable collection: its path, its record model and the field that identifies a record."""

    path: str
    model: type[T]
    id_field: str = "entity_id"
    label: str = "record"


ORDERS = Resource("/V1/orders", Order, label="order")
INVOICES = Resource("/V1/invoices", Invoice, label="invoice")
CREDIT_MEMOS = Resource("/V1/creditmemos", CreditMemo, label="credit memo")
CUSTOMERS = Resource("/V1/customers/search", Customer, id_field="id", label="customer")
PRODUCTS = Resource("/V1/products", Product, id_field="id", label="product")
CATEGORIES = Resource("/V1/categories/list", Category, id_field="id", label="category")


class AdobeRecordError(AdobeRejectedError):
    """A record Magento sent does not have the documented shape."""


class Changes(Generic[T]):
    """Changed records since a watermark, each once; read `.watermark` after iterating."""

    def __init__(
        self, resource: Resource[T], read: IncrementalRead, parse: Callable[[Resource[T], dict[str, Any]], T]
    ):
        self._resource = resource
        self._read = read
        self._parse = parse

    def __iter__(self) -> Iterator[T]:
        for item in self._read:
            yield self._parse(self._resource, item)

    @property
    def watermark(self) -> Watermark:
        return self._read.watermark


class AdobeClient:
    def __init__(
        self,
        config: AdobeConfig,
        auth: httpx.Auth,
        *,
        transport: httpx.BaseTransport | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.config = config
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._http = httpx.Client(
            auth=auth,
            transport=transport,
            verify=tls_context(),
            headers=config.default_headers(),
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    @classmethod
    def for_connection(cls, app: App, name: str) -> AdobeClient:
        with app.db.session() as session:
            conn = get_connection(session, name)
        return cls.for_stored(app, conn)

    @classmethod
    def for_stored(
        cls,
        app: App,
        conn: Connection,
        *,
        auth_mode: AuthMode | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> AdobeClient:
        """Client for a loaded Connection; `auth_mode` overrides the configured PaaS mode (ping compares)."""
        if conn.kind != ConnectionKind.ADOBE_COMMERCE:
            raise AdobeConfigError(
                f"connection '{conn.name}' is a {conn.kind.value} connection, not adobe_commerce"
            )
        config = AdobeConfig.from_connection(
            conn.name, conn.base_url, conn.store_code, dict(conn.settings or {})
        )
        if auth_mode is not None and config.deployment == "paas":
            config = replace(config, auth_mode=auth_mode)
        return cls(config, _auth_for(app, conn, config, transport, clock), transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdobeClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- HTTP -------------------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.config.api_root}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one API call and return its decoded JSON; raises the shared error types."""
        endpoint = f"{method.upper()} {path}"
        url = self.url(path)

        query: list[tuple[str, str | int | float | bool | None]] = list(params or [])

        def send() -> httpx.Response:
            return self._http.request(method, url, params=query, json=json)

        try:
            response = send_idempotent(send, method, self._backoff, self._sleep)
        except httpx.HTTPError as exc:
            raise error_for_transport(exc, method, endpoint) from None
        if response.is_success:
            return response.json() if response.content else None
        error = error_for_response(response, endpoint)
        if isinstance(error, AdobeAuthError) and self.config.auth_mode == "bearer":
            raise AdobeAuthError(
                f"{error.message}. {BEARER_HINT}", system=SYSTEM, endpoint=endpoint, status=error.status
            )
        raise error

    def get(self, path: str, params: Sequence[tuple[str, str]] | None = None) -> Any:
        return self.request("GET", path, params=params)

    # -- searches ---------------------------------------------------------------------------------------

    def search_raw(self, resource: Resource[T], criteria: SearchCriteria) -> RawPage:
        body = self.get(resource.path, criteria.params())
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise AdobeRecordError(
                f"{resource.path} did not answer with a search result (items, total_count)",
                system=SYSTEM,
                endpoint=f"GET {resource.path}",
            )
        return body["items"], int(body.get("total_count", 0))

    def search(self, resource: Resource[T], criteria: SearchCriteria) -> SearchPage[T]:
        items, total = self.search_raw(resource, criteria)
        return SearchPage[T](items=[self._parse(resource, item) for item in items], total_count=total)

    def iterate(
        self, resource: Resource[T], criteria: SearchCriteria | None = None, page_size: int = 100
    ) -> Iterator[T]:
        """Every match, page by page, stopping on total_count (Magento repeats the last page past the end)."""

        def fetch(page: SearchCriteria) -> RawPage:
            return self.search_raw(resource, page)

        for item in iter_items(fetch, criteria or SearchCriteria(), page_size):
            yield self._parse(resource, item)

    def changes(
        self,
        resource: Resource[T],
        since: Watermark,
        *,
        page_size: int = 100,
        overlap: timedelta = DEFAULT_OVERLAP,
        criteria: SearchCriteria | None = None,
    ) -> Changes[T]:
        """Records whose updated_at is at or after the watermark (minus `overlap`), each delivered once."""

        def fetch(page: SearchCriteria) -> RawPage:
            return self.search_raw(resource, page)

        read = IncrementalRead(
            fetch, since, id_field=resource.id_field, page_size=page_size, overlap=overlap, extra=criteria
        )
        return Changes(resource, read, self._parse)

    # -- single records ---------------------------------------------------------------------------------

    def order(self, entity_id: int) -> Order:
        return self._parse(ORDERS, self.get(f"/V1/orders/{entity_id}"))

    def invoice(self, entity_id: int) -> Invoice:
        return self._parse(INVOICES, self.get(f"/V1/invoices/{entity_id}"))

    def credit_memo(self, entity_id: int) -> CreditMemo:
        return self._parse(CREDIT_MEMOS, self.get(f"/V1/creditmemo/{entity_id}"))

    def store_configs(self) -> list[StoreConfig]:
        body = self.get("/V1/store/storeConfigs")
        return [StoreConfig.model_validate(item) for item in body or []]

    def magento_version(self) -> str | None:
        """`/magento_version` of a PaaS shop (e.g. "Magento/2.4 (Commerce)"), or None when hidden."""
        if self.config.deployment != "paas":
            return None
        try:
            response = self._http.get(f"{self.config.base_url}/magento_version", auth=None)
        except httpx.HTTPError:
            return None
        text = response.text.strip()
        return text if response.status_code == 200 and text.startswith("Magento/") else None

    @staticmethod
    def _parse(resource: Resource[T], item: Any) -> T:
        try:
            return resource.model.model_validate(item)
        except ValidationError as exc:
            ident = item.get(resource.id_field) if isinstance(item, dict) else None
            number = item.get("increment_id") if isinstance(item, dict) else None
            name = f"{resource.label} {number or ident or '(no id)'}"
            raise AdobeRecordError(
                f"{name} from {resource.path} does not have the documented shape: "
                f"{exc.error_count()} problem(s), first: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}; "
                "check extensions that rewrite the REST output",
                system=SYSTEM,
                endpoint=f"GET {resource.path}",
            ) from None


def _auth_for(
    app: App,
    conn: Connection,
    config: AdobeConfig,
    transport: httpx.BaseTransport | None,
    clock: Clock | None,
) -> httpx.Auth:
    def credential(name: str) -> SecretStr:
        with app.db.session() as session:
            return get_credential(session, app.vault, conn, name)

    if config.auth_mode == "ims":
        assert config.client_id and config.org_id  # checked by AdobeConfig.from_connection
        tokens = ImsTokenSource(
            app.db,
            app.vault,
            conn.id,
            token_url=config.ims_token_url,
            client_id=config.client_id,
            client_secret=credential("ims_client_secret"),
            transport=transport,
            clock=clock,
        )
        return ImsAuth(tokens, config.client_id, config.org_id)
    if config.auth_mode == "bearer":
        return IntegrationBearerAuth(credential("access_token"))
    # The shared OAuth1 signer (it lives with the WooCommerce client for now; the lead moves it to http/).
    return OAuth1Signer(
        credential("consumer_key").get_secret_value(),
        credential("consumer_secret"),
        token=credential("access_token").get_secret_value(),
        token_secret=credential("access_token_secret"),
        signature_method=config.signature_method,
    )
