"""Test data for the GL mapping: Exact master data rows shaped like Exact's API and a mapping YAML."""

from __future__ import annotations

from typing import Any

from ml_connector.flows.gl_mapping import ExactMasterData, parse_mapping
from ml_connector.flows.gl_mapping.model import MappingDoc
from ml_connector.flows.vat import VatMapping, VatRule, VatSettings


def _gl(code: str, description: str, type_: int, balance: str, blocked: bool = False) -> dict[str, Any]:
    return {
        "ID": f"00000000-0000-0000-0000-00000000{code:0>4}",
        "Code": code,
        "Description": description,
        "Type": type_,
        "BalanceType": balance,
        "IsBlocked": blocked,
    }


GL_ROWS = [
    _gl("8000", "Revenue webshop", 110, "W"),
    _gl("8010", "Revenue apparel", 110, "W"),
    _gl("8020", "Revenue fitness", 110, "W"),
    _gl("8050", "Shipping revenue", 110, "W"),
    _gl("8090", "Discounts granted", 120, "W"),
    _gl("8095", "Refund adjustments", 120, "W"),
    _gl("8096", "Adjustment fees", 110, "W"),
    _gl("8099", "Old revenue", 110, "W", blocked=True),
    _gl("4000", "Other costs", 120, "W"),
    _gl("1300", "Debtors", 20, "B"),
]
SKUS = ["WS12-M-Orange", "240-LV08", "24-WG082-blue", "24-WG084", "24-WG086", "24-WG088", "MH01-S-Gray"]
ITEM_CODES = [*SKUS, "SHIP", "DISC", "ADJ"]


def exact_rows() -> list[tuple[str, dict[str, Any]]]:
    rows: list[tuple[str, dict[str, Any]]] = [("GLAccounts", row) for row in GL_ROWS]
    rows += [
        ("CostCenters", {"ID": f"cc-{c}", "Code": c, "Description": c}) for c in ("WEB", "WEBB", "APPAREL")
    ]
    rows += [("CostUnits", {"ID": "cu-1", "Code": "EU", "Description": "Europe"})]
    rows += [
        ("VATCodes", {"ID": "v0", "Code": "0  ", "Description": "0%", "Percentage": 0.0}),
        ("VATCodes", {"ID": "v1", "Code": "1  ", "Description": "low", "Percentage": 0.09}),
        ("VATCodes", {"ID": "v2", "Code": "2  ", "Description": "high", "Percentage": 0.21}),
        (
            "VATCodes",
            {"ID": "v5", "Code": "5  ", "Description": "old", "Percentage": 0.19, "IsBlocked": True},
        ),
    ]
    rows += [
        ("Journals", {"ID": "j70", "Code": "70", "Description": "Sales", "Type": 20}),
        ("Journals", {"ID": "j90", "Code": "90", "Description": "Memorial", "Type": 90}),
    ]
    rows += [("Items", {"ID": f"item-{code}", "Code": code, "Description": code}) for code in ITEM_CODES]
    return rows


def masterdata() -> ExactMasterData:
    return ExactMasterData.from_exact_rows(exact_rows())


def vat_mapping() -> VatMapping:
    rules = [
        VatRule(vat_code="0", percent=0),
        VatRule(vat_code="1", percent=9),
        VatRule(vat_code="2", percent=21),
    ]
    return VatMapping(VatSettings(rules=rules))


MAPPING_YAML = """\
format: 1
booking: sales_invoice
journal: "70"
defaults:
  product: {gl_account: "8000", cost_center: WEB}
  shipping: {gl_account: "8050", item: SHIP}
  discount: {gl_account: "8090", item: DISC}
  adjustment_positive: {gl_account: "8095", item: ADJ, vat_code: "0"}
  adjustment_negative: {gl_account: "8096", item: ADJ, vat_code: "0"}
rules:
  - name: hoodies
    match: {sku: MH01-S-Gray}
    gl_account: "8010"
    cost_center: APPAREL
  - name: fitness
    match: {category: "20"}
    gl_account: "8020"
  - name: downloads
    match: {product_type: downloadable}
    gl_account: "8020"
    cost_unit: EU
"""


def mapping(text: str = MAPPING_YAML) -> MappingDoc:
    return parse_mapping(text)
