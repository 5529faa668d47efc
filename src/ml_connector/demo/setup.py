"""A shop and its books, set up the way a merchant would have them before connecting the two.

The Exact division already holds an Item for every product the shop sells (Code = SKU): the merchant's
catalogue is in Exact, so the connector only reads it. Connections get the settings a merchant would
choose (journal, VAT mapping, items for shipping, fees and refunds).
"""

from __future__ import annotations

from typing import Any

import httpx

from ml_connector.app import App
from ml_connector.exact.client import ExactClient
from ml_connector.exact.odata import Query, eq
from ml_connector.http.tls import tls_context
from ml_connector.store.connections import add_connection
from ml_connector.store.models import ConnectionKind
from ml_connector.woocommerce.client import WooClient

REFUND_ITEM = "REFUND"
SERVICE_ITEMS = {REFUND_ITEM: "Terugbetaling zonder artikelregels"}  # the refund fallback item
REVENUE_GL = "8000"


def woo_sync_settings(target: str, store_key: str = "SHOP1") -> dict[str, Any]:
    """Sync settings for the WooCommerce sandbox's tax rates (1: 21 %, 2: 9 %) and Exact sandbox codes."""
    return {
        "target": target,
        "store_key": store_key,
        "journal": "50",
        "payment_condition": "14",
        "shipping": {"item_code": "SHIPPING"},
        "fees": {"item_code": "PAYMENTFEE"},
        "refund_fallback": {"item_code": REFUND_ITEM},
        "vat": {
            "rules": [{"rate": "1", "vat_code": "2"}, {"rate": "2", "vat_code": "1"}],
            "reverse_charge_vat_code": "6",
            "no_tax_vat_code": "0",
        },
        "account_code": {"mode": "prefix_id", "prefix": "4"},
    }


def connect_woocommerce(app: App, name: str, info: dict[str, Any], sync: dict[str, Any]) -> None:
    with app.db.session() as session:
        add_connection(
            session,
            app.vault,
            name=name,
            kind=ConnectionKind.WOOCOMMERCE,
            base_url=info["base_url"],
            settings={"auth_mode": "basic", "sync": sync},
            credentials={
                "consumer_key": info["consumer_key"],
                "consumer_secret": info["consumer_secret"],
                "webhook_secret": info.get("webhook_secret") or "demo-webhook-secret-0001",
            },
        )


def shop_skus(client: WooClient) -> dict[str, str]:
    """Every SKU the shop sells (variations included) with its product name, plus the service items."""
    skus: dict[str, str] = dict(SERVICE_ITEMS)
    for product in client.products():
        if product.sku:
            skus[product.sku] = product.name
        if product.type == "variable":
            for variation in client.variations(product.id):
                if variation.sku:
                    skus[variation.sku] = f"{product.name} {variation.sku}"
    return skus


def mirror_catalogue(exact: ExactClient, exact_info: dict[str, Any], skus: dict[str, str]) -> int:
    """Create the shop's items in the Exact sandbox as its user would (in Exact's screens, not through the
    API), on the revenue account Exact's own items use."""
    revenue = exact.first("GLAccounts", Query(filter=eq("Code", REVENUE_GL), select=("ID",)))
    if revenue is None:
        raise RuntimeError(f"the Exact division has no GL account {REVENUE_GL} for the shop's items")
    base, division = exact_info["base_url"], exact_info["division"]
    wanted = skus
    with httpx.Client(base_url=base, timeout=30, verify=tls_context()) as http:
        for code, description in wanted.items():
            response = http.post(
                f"/_sandbox/create/{division}/Items",
                json={
                    "Code": code,
                    "Description": description[:60],
                    "IsSalesItem": True,
                    "GLRevenue": revenue["ID"],
                },
            )
            response.raise_for_status()
    return len(wanted)
