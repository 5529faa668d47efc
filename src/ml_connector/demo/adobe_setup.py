"""An Adobe Commerce shop and its books, set up the way a merchant would have them before connecting.

The Exact division holds an Item for every SKU the shop sells (Code = SKU), a service item for credit
memo adjustments and the merchant's own revenue accounts for apparel and fitness; the connection gets
the VAT settings a Dutch shop needs and a GL mapping document (`mapping import`) sends each line to its
GL account and cost center.
"""

from __future__ import annotations

from typing import Any

import httpx

from ml_connector.adobe_commerce.client import PRODUCTS, AdobeClient
from ml_connector.app import App
from ml_connector.exact.client import ExactClient
from ml_connector.http.tls import tls_context
from ml_connector.pipelines import masterdata
from ml_connector.pipelines.adobe_settings import parse_sync_settings
from ml_connector.pipelines.gl_mappings import import_mapping, load_masterdata
from ml_connector.store.connections import add_connection, get_connection
from ml_connector.store.models import ConnectionKind

ADJUSTMENT_ITEM = "ADJUSTMENT"
# The merchant's own revenue accounts next to the standard chart (Type 110 = revenue).
MERCHANT_GL_ACCOUNTS = {"8100": "Omzet kleding", "8110": "Omzet fitness"}
PAAS_CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")

# Every line kind has a default; specific rules for configurable products (apparel) and one SKU.
MAPPING_HEADER = """\
format: 1
booking: {booking}
journal: "50"
defaults:
  product: {{gl_account: "8000", cost_center: "100"}}
  shipping: {{gl_account: "8050", item: SHIPPING}}
  discount: {{gl_account: "8060", cost_center: "100", item: DISCOUNT}}
  adjustment_positive: {{gl_account: "4500", item: ADJUSTMENT, vat_code: "0"}}
  adjustment_negative: {{gl_account: "8070", item: ADJUSTMENT, vat_code: "0"}}
rules:
  - name: apparel
    match: {{product_type: configurable}}
    gl_account: "8100"
    cost_center: "200"
  - name: yoga mats
    match: {{sku: SIM-001}}
    gl_account: "8110"
    cost_center: "300"
    cost_unit: NL
  - name: webshop shipping
    line: shipping
    match: {{store: default}}
    cost_center: "100"
"""


def mapping_yaml(booking: str = "sales_invoice", zero_rated: tuple[str, ...] = ()) -> str:
    """The demo's GL mapping; `zero_rated` SKUs get rules that book their lines with VAT code 0."""
    rules = "".join(
        f'  - name: zero-rated {sku} {kind}\n    line: {kind}\n    match: {{sku: {sku}}}\n    vat_code: "0"\n'
        for sku in zero_rated
        for kind in ("product", "discount")
    )
    return MAPPING_HEADER.format(booking=booking) + rules


def adobe_sync_settings(
    target: str, *, zero_rate: bool = True, store_key: str | None = None
) -> dict[str, Any]:
    """Sync settings for the sandbox's tax classes (21 %, 9 %, 0 %) and the Exact sandbox's VAT codes.
    Without `zero_rate` the shop's 0 % class has no VAT rule: such lines need a rule in the GL mapping."""
    rules: list[dict[str, Any]] = [{"percent": 21, "vat_code": "2"}, {"percent": 9, "vat_code": "1"}]
    if zero_rate:
        rules.append({"percent": 0, "vat_code": "0"})
    sync: dict[str, Any] = {
        "target": target,
        "vat": {"rules": rules, "reverse_charge_vat_code": "6"},
        "account_code": {"mode": "prefix_id", "prefix": "5"},
    }
    if store_key:
        sync["store_key"] = store_key
    return sync


def connect_adobe(app: App, name: str, info: dict[str, Any], sync: dict[str, Any]) -> None:
    """A PaaS connection with the integration's four OAuth1 credentials, stored encrypted."""
    with app.db.session() as session:
        add_connection(
            session,
            app.vault,
            name=name,
            kind=ConnectionKind.ADOBE_COMMERCE,
            base_url=info["base_url"],
            store_code=info.get("store_code") or "default",
            settings={"webhook_public_key_pem": info["webhook_public_key_pem"], "sync": sync},
            credentials={key: info[key] for key in PAAS_CREDENTIALS},
        )


def shop_skus(client: AdobeClient) -> dict[str, str]:
    """Every SKU the shop sells (configurable variants and bundle components included)."""
    return {product.sku: product.name or product.sku for product in client.iterate(PRODUCTS, page_size=300)}


def zero_rated_skus(client: AdobeClient, zero_rate_class: str = "6") -> tuple[str, ...]:
    """The SKUs of the shop's zero-rated tax class (Magento's `tax_class_id`)."""
    return tuple(
        sorted(p.sku for p in client.iterate(PRODUCTS, page_size=300) if p.tax_class_id == zero_rate_class)
    )


def prepare_books(exact_info: dict[str, Any], skus: dict[str, str]) -> int:
    """Create, as the merchant did in Exact's screens (not through the API), the revenue accounts and
    an Item per SKU plus the adjustment item; returns the number of items."""
    base, division = exact_info["base_url"], exact_info["division"]
    items = {**skus, ADJUSTMENT_ITEM: "Correctie creditnota"}
    with httpx.Client(base_url=base, timeout=30, verify=tls_context()) as http:
        for code, description in MERCHANT_GL_ACCOUNTS.items():
            created = http.post(
                f"/_sandbox/create/{division}/GLAccounts",
                json={"Code": code, "Description": description, "Type": 110, "VATCode": "2"},
            )
            created.raise_for_status()
        for code, description in items.items():
            created = http.post(
                f"/_sandbox/create/{division}/Items",
                json={"Code": code, "Description": description[:60], "IsSalesItem": True},
            )
            created.raise_for_status()
    return len(items)


def install_mapping(app: App, shop: str, text: str, *, author: str, comment: str | None = None) -> int:
    """`masterdata refresh` of the shop's Exact connection, then `mapping import`: validated against the
    fresh master data, stored encrypted as the next version (returned)."""
    with app.db.session() as session:
        conn = get_connection(session, shop)
        target_name, _settings = parse_sync_settings(conn.settings, shop)
        target_id = get_connection(session, target_name).id
    exact = ExactClient.for_connection(app, target_name)
    try:
        masterdata.refresh(app.db, exact, target_id)
    finally:
        exact.close()
    with app.db.session() as session:
        conn = get_connection(session, shop)
        version = import_mapping(
            session,
            app.vault,
            conn,
            text,
            load_masterdata(session, target_id),
            author=author,
            comment=comment,
        )
    return version.version
