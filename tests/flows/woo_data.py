"""The real WooCommerce 7.9.0 captures (shared/woo-real) as typed models, and a division's master data.

The captured store: EUR, NL, prices excl. tax, tax rate 1 "BTW 21%" (standard, also on shipping) and rate
2 "BTW 9%" (reduced-rate). The Exact side mirrors a Dutch division: VAT codes as Exact pads them.
"""

from __future__ import annotations

import json
from typing import Any

from ml_connector.flows.exact_documents import ExactLookups
from ml_connector.flows.vat import vat_codes_from_exact
from ml_connector.flows.woocommerce.invoices import FlowContext
from ml_connector.flows.woocommerce.settings import WooExactSettings, parse_settings
from ml_connector.woocommerce.models import Customer, Order, Refund
from tests.shared_data import SHARED

SHARED = SHARED
WOO_REAL = SHARED / "woo-real"
EXACT_ENTITIES = SHARED / "reference" / "exact-entities.json"
ACCOUNT_ID = "3734121e-1544-4b77-9ae2-7203e9bd6046"

# Every real order capture, newest state per file (ids 18..25).
ORDER_FILES = {
    "order-guest-coupon-completed.json": 19,
    "order-onhold-fee.json": 20,
    "order-registered-coupon-fee-mixed-tax.json": 23,
    "order-with-refund.json": 22,
    "order-update-put-response.json": 21,
    "webhook-order-updated-after-refund.body.json": 25,
}
SKUS = ["RW-COF-1KG", "RW-TEA-250", "RW-GRN-01", "RW-CUP-4", "RW-TSHIRT-M", "RW-TSHIRT-L"]
SERVICE_ITEMS = ["VERZEND", "TOESLAG", "KORTING", "RETOUR"]

EXACT_VAT_CODES = [
    {"Code": "0  ", "Description": "Geen BTW", "Percentage": 0, "IsBlocked": False},
    {"Code": "1  ", "Description": "BTW laag tarief", "Percentage": 0.09, "IsBlocked": False},
    {"Code": "2  ", "Description": "BTW hoog tarief", "Percentage": 0.21, "IsBlocked": False},
    {"Code": "7  ", "Description": "BTW laag (oud)", "Percentage": 0.06, "IsBlocked": True},
    {
        "Code": "ICP",
        "Description": "Intracommunautaire levering, verlegd",
        "Percentage": 0,
        "IsBlocked": False,
    },
]


def load(name: str) -> Any:
    return json.loads((WOO_REAL / name).read_bytes())


def order(name: str) -> Order:
    return Order.model_validate(load(name))


def order_from_list(name: str, order_id: int) -> Order:
    return Order.model_validate(next(item for item in load(name) if item["id"] == order_id))


def refund(name: str) -> Refund:
    return Refund.model_validate(load(name))


def customers() -> list[Customer]:
    return [Customer.model_validate(item) for item in load("customers.json")]


def writable(entity: str) -> set[str]:
    """Fields Exact accepts on POST/PUT for an entity (exact-entities.json: not read-only)."""
    fields = json.loads(EXACT_ENTITIES.read_bytes())["entities"][entity]["fields"]
    return {field["name"] for field in fields if not field["read_only"]}


def settings_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "store_key": "RW",
        "journal": "70",
        "payment_condition": "14",
        "shipping": {"item_code": "VERZEND"},
        "fees": {"item_code": "TOESLAG", "gl_account_code": "8010"},
        "discounts": {"item_code": "KORTING"},
        "refund_fallback": {"item_code": "RETOUR"},
        "vat": {
            "rules": [{"rate": 1, "vat_code": "2"}, {"rate": "2", "vat_code": "1", "percent": 9}],
            "reverse_charge_vat_code": "ICP",
            "no_tax_vat_code": "0",
        },
    }
    data.update(overrides)
    return data


def settings(**overrides: Any) -> WooExactSettings:
    return parse_settings(settings_data(**overrides))


def context(**overrides: Any) -> FlowContext:
    return FlowContext.of(settings(**overrides))


def item_ids(codes: list[str] | None = None) -> dict[str, str]:
    """Item Code -> a stable fake Guid per code."""
    codes = SKUS + SERVICE_ITEMS if codes is None else codes
    return {code: f"00000000-0000-0000-0000-{index:012d}" for index, code in enumerate(codes, start=1)}


GL_ACCOUNTS = {"8010": "4eae751d-fc91-4c99-b1e6-646fe3401a12"}


def lookups(items: dict[str, str] | None = None) -> ExactLookups:
    table = item_ids() if items is None else items
    return ExactLookups(
        item_id=table.get, gl_account_id=GL_ACCOUNTS.get, vat_codes=vat_codes_from_exact(EXACT_VAT_CODES)
    )
