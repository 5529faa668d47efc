"""Deterministic master data per seed: what a small Dutch webshop's Exact administration holds.

Records go through the same `Books` rules as API writes, so seeded data is shaped exactly like created
data. Keys come from a seeded random generator: the same seed gives the same IDs, codes and prices.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from .documents import Books

# (code, description, GL type); VAT codes are attached after they exist.
GL_ACCOUNTS = (
    ("1300", "Debiteuren", 20),
    ("1600", "Crediteuren", 22),
    ("1500", "Te betalen btw hoog", 24),
    ("1510", "Te betalen btw laag", 24),
    ("4000", "Inkoopwaarde omzet", 111),
    ("4500", "Algemene kosten", 120),
    ("8000", "Omzet hoog tarief", 110),
    ("8010", "Omzet laag tarief", 110),
    ("8020", "Omzet intracommunautair", 110),
    ("8030", "Omzet export buiten EU", 110),
    ("8050", "Omzet verzendkosten", 110),
    ("8060", "Kortingen", 110),
    ("8070", "Betaalkosten", 110),
    ("8090", "Omzet oude webshop (geblokkeerd)", 110),
)
GL_VAT = {"8000": "2", "8010": "1", "8020": "6", "8030": "5", "8050": "2", "8060": "2", "8070": "2"}
BLOCKED_GL = {"8090"}
# (code, description, type E excl / I incl / N none, percentage, GL to pay VAT on)
VAT_CODES = (
    ("0", "Geen btw", "N", 0.0, None),
    ("1", "Btw laag 9% exclusief", "E", 0.09, "1510"),
    ("2", "Btw hoog 21% exclusief", "E", 0.21, "1500"),
    ("3", "Btw hoog 21% inclusief", "I", 0.21, "1500"),
    ("4", "Btw laag 9% inclusief", "I", 0.09, "1510"),
    ("5", "0% export buiten de EU", "E", 0.0, None),
    ("6", "Verlegd: intracommunautaire levering (ICP)", "E", 0.0, None),
    ("7", "Btw verlegd binnenland", "E", 0.0, None),
)
# (code, description, type, GL account code, VAT allowed)
JOURNALS = (
    ("50", "Verkoopboek", 20, "1300", True),
    ("51", "Verkoopboek creditnota's", 21, "1300", True),
    ("90", "Memoriaal", 90, None, False),
)
COST_CENTERS = (("100", "Webshop"), ("200", "Marketplace"), ("300", "Zakelijke verkoop"), ("999", "Overig"))
COST_UNITS = (("NL", "Nederland"), ("BE", "Belgie"), ("DE", "Duitsland"), ("EXPORT", "Export"))
PAYMENT_CONDITIONS = (
    ("00", "Direct", 0),
    ("14", "14 dagen", 14),
    ("21", "21 dagen", 21),
    ("30", "30 dagen", 30),
)
SERVICE_ITEMS = (
    ("SHIPPING", "Verzendkosten", "8050", "2"),
    ("DISCOUNT", "Korting", "8060", "2"),
    ("PAYMENTFEE", "Betaalkosten", "8070", "2"),
)
PRODUCTS = (
    "Koffiemok",
    "Theepot",
    "Snijplank",
    "Schort",
    "Broodtrommel",
    "Waterfles",
    "Kookboek",
    "Dienblad",
)
CUSTOMERS = (
    ("Bakkerij De Gouden Korst", "NL", "Utrecht"),
    ("Van Dijk Interieur B.V.", "NL", "Houten"),
    ("Atelier Lemaire", "BE", "Gent"),
    ("Kaufhaus Becker GmbH", "DE", "Aachen"),
    ("Jansen & Zonen", "NL", "Gouda"),
)


def seed_division(books: Books, rng: random.Random) -> None:
    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def create(entity: str, body: dict[str, Any], **read_only: Any) -> dict[str, Any]:
        row = books.create(entity, {"ID": new_id(), **body})
        row.update(read_only)  # GET-only values a user sets in Exact's screens
        return row

    gl = {
        code: create(
            "GLAccounts",
            {"Code": code, "Description": text, "Type": gl_type, "IsBlocked": code in BLOCKED_GL},
        )
        for code, text, gl_type in GL_ACCOUNTS
    }
    vat = {}
    for code, text, vat_type, percentage, gl_code in VAT_CODES:
        body: dict[str, Any] = {
            "Code": code,
            "Description": text,
            "Type": vat_type,
            "VATTransactionType": "S",
        }
        if gl_code:
            body["GLToPay"] = gl[gl_code]["ID"]
        if code == "6":
            body["EUSalesListing"] = "L"
        vat[code] = create("VATCodes", body, Percentage=percentage)
    for code, vat_code in GL_VAT.items():
        gl[code].update(VATCode=vat[vat_code]["Code"], VATDescription=vat[vat_code]["Description"])
    for code, text, journal_type, gl_code, allow_vat in JOURNALS:
        body = {
            "Code": code,
            "Description": text,
            "Type": journal_type,
            "AllowVAT": allow_vat,
            "Currency": "EUR",
        }
        if gl_code:
            body["GLAccount"] = gl[gl_code]["ID"]
        create("Journals", body)
    for code, text in COST_CENTERS:
        create("CostCenters", {"Code": code, "Description": text, "Active": True})
    for code, text in COST_UNITS:
        create("CostUnits", {"Code": code, "Description": text})
    for code, text, days in PAYMENT_CONDITIONS:
        create("PaymentConditions", {"Code": code, "Description": text, "PaymentDays": days})
    for code, text, gl_code, vat_code in SERVICE_ITEMS:
        create(
            "Items",
            {
                "Code": code,
                "Description": text,
                "GLRevenue": gl[gl_code]["ID"],
                "SalesVatCode": vat_code,
                "IsSalesItem": True,
            },
        )
    for number, name in enumerate(PRODUCTS, start=1001):
        low_vat = name == "Kookboek"  # books carry the low rate
        create(
            "Items",
            {
                "Code": f"P{number}",
                "Description": name,
                "GLRevenue": gl["8010" if low_vat else "8000"]["ID"],
                "SalesVatCode": "1" if low_vat else "2",
                "IsSalesItem": True,
                "IsStockItem": True,
                "CostPriceStandard": rng.randint(200, 2000) / 100,
                "Unit": "pc",
            },
            StandardSalesPrice=rng.randint(500, 5000) / 100,
        )
    for name, country, city in CUSTOMERS:
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:16]
        account = create(
            "Accounts",
            {
                "Name": name,
                "Country": country,
                "City": city,
                "Email": f"info@{slug}.example",
                "Status": "C",
                "PaymentConditionSales": "14",
                "GLAR": gl["1300"]["ID"],
            },
        )
        first, last = (
            rng.choice(("Anna", "Bram", "Chris", "Daan", "Eva")),
            rng.choice(("Bakker", "Visser", "Smit")),
        )
        create(
            "Contacts",
            {"Account": account["ID"], "FirstName": first, "LastName": last, "Email": account["Email"]},
        )
