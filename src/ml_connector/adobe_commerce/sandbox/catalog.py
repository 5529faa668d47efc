"""The seeded catalog and customers: simple, configurable and bundle products in categories, with three tax
classes (21 %, 9 %, 0 %), and customers with addresses (some B2B with a VAT number).
Deterministic per seed."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

Doc = dict[str, Any]
TAX_CLASSES = {"2": Decimal(21), "5": Decimal(9), "6": Decimal(0)}  # Taxable Goods, Reduced, Zero rated
CATEGORIES = ["Gear", "Bags", "Fitness Equipment", "Men", "Women", "Books"]
FIRST = ["Anna", "Bram", "Chloe", "Daan", "Emma", "Finn", "Giulia", "Hugo", "Iris", "Jens", "Lotte", "Milan"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Peeters", "Maes", "Schmidt"]
CITIES = [
    ("NL", "Utrecht", "3511 AB"),
    ("NL", "Amsterdam", "1012 JS"),
    ("BE", "Antwerpen", "2000"),
    ("DE", "Köln", "50667"),
]


def _cents(rng: random.Random, low: int, high: int) -> float:
    return round(rng.randint(low * 100, high * 100) / 100, 2)


def categories(stamp: str) -> list[Doc]:
    rows = [
        {"id": 1, "parent_id": 0, "name": "Root Catalog", "level": 0, "path": "1", "position": 0},
        {"id": 2, "parent_id": 1, "name": "Default Category", "level": 1, "path": "1/2", "position": 1},
    ]
    rows += [
        {"id": 3 + i, "parent_id": 2, "name": name, "level": 2, "path": f"1/2/{3 + i}", "position": i + 1}
        for i, name in enumerate(CATEGORIES)
    ]
    for row in rows:
        row.update(
            {
                "is_active": True,
                "include_in_menu": True,
                "created_at": stamp,
                "updated_at": stamp,
                "children": ",".join(str(r["id"]) for r in rows if r["parent_id"] == row["id"]),
                "available_sort_by": [],
                "custom_attributes": [],
            }
        )
    return rows


def _product(
    pid: int,
    sku: str,
    name: str,
    type_id: str,
    price: float,
    tax_class: str,
    category: int,
    stamp: str,
    visibility: int = 4,
) -> Doc:
    return {
        "id": pid,
        "sku": sku,
        "name": name,
        "attribute_set_id": 4,
        "price": price,
        "status": 1,
        "visibility": visibility,
        "type_id": type_id,
        "created_at": stamp,
        "updated_at": stamp,
        "weight": 1,
        "extension_attributes": {
            "website_ids": [1],
            "category_links": [{"position": 0, "category_id": str(category)}],
        },
        "product_links": [],
        "options": [],
        "media_gallery_entries": [],
        "tier_prices": [],
        "custom_attributes": [
            {"attribute_code": "tax_class_id", "value": tax_class},
            {"attribute_code": "url_key", "value": sku.lower()},
        ],
    }


def products(rng: random.Random, stamp: str) -> list[Doc]:
    """Simples first, then 3 configurables (3 hidden simple variants each), then 2 dynamic bundles."""
    rows: list[Doc] = []
    classes = list(TAX_CLASSES)
    for i in range(1, 19):
        tax_class = classes[i % 3]
        category = 3 + i % len(CATEGORIES)
        rows.append(
            _product(
                i,
                f"SIM-{i:03d}",
                f"Simple product {i}",
                "simple",
                _cents(rng, 3, 90),
                tax_class,
                category,
                stamp,
            )
        )
    pid = 100
    for c in range(1, 4):
        price = _cents(rng, 30, 80)
        parent = _product(pid, f"CFG-{c:02d}", f"Hoodie {c}", "configurable", price, "2", 6, stamp)
        variants = []
        for size in ("S", "M", "L"):
            pid += 1
            variant = _product(
                pid, f"CFG-{c:02d}-{size}", f"Hoodie {c}-{size}", "simple", price, "2", 6, stamp, 1
            )
            variants.append(variant)
        parent["extension_attributes"]["configurable_product_links"] = [v["id"] for v in variants]
        rows += [parent, *variants]
        pid += 1
    for b in range(1, 3):
        parts = rng.sample([r for r in rows if r["sku"].startswith("SIM-")], 3)
        bundle = _product(200 + b, f"BND-{b:02d}", f"Yoga kit {b}", "bundle", 0, "2", 5, stamp)
        bundle["extension_attributes"]["bundle_product_options"] = [
            {
                "option_id": n + 1,
                "title": part["name"],
                "required": True,
                "type": "select",
                "position": n,
                "sku": bundle["sku"],
                "product_links": [
                    {
                        "sku": part["sku"],
                        "qty": 1,
                        "is_default": True,
                        "option_id": n + 1,
                        "price": 0,
                        "price_type": 0,
                    }
                ],
            }
            for n, part in enumerate(parts)
        ]
        rows.append(bundle)
    return rows


def tax_rate(product: Doc) -> Decimal:
    value = next(a["value"] for a in product["custom_attributes"] if a["attribute_code"] == "tax_class_id")
    return TAX_CLASSES[str(value)]


def customers(rng: random.Random, count: int, stamp: str) -> list[Doc]:
    rows = []
    for cid in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country, city, postcode = rng.choice(CITIES)
        address = {
            "id": cid,
            "customer_id": cid,
            "region": {"region_code": None, "region": None, "region_id": 0},
            "region_id": 0,
            "country_id": country,
            "street": [f"{rng.choice(['Kerkstraat', 'Dorpsweg', 'Main'])} {cid}"],
            "telephone": f"+31 6 {rng.randint(10000000, 99999999)}",
            "postcode": postcode,
            "city": city,
            "firstname": first,
            "lastname": last,
            "default_shipping": True,
            "default_billing": True,
        }
        row: Doc = {
            "id": cid,
            "group_id": 1,
            "default_billing": str(cid),
            "default_shipping": str(cid),
            "created_at": stamp,
            "updated_at": stamp,
            "created_in": "Default Store View",
            "email": f"{first.lower()}.{last.lower().replace(' ', '')}.{cid}@example.com",
            "firstname": first,
            "lastname": last,
            "store_id": 1,
            "website_id": 1,
            "addresses": [address],
            "disable_auto_group_change": 0,
            "extension_attributes": {"is_subscribed": False},
        }
        if cid % 4 == 0:  # a business customer: VAT number on the account and on the address
            row["taxvat"] = f"{country}{rng.randint(100000000, 999999999)}B01"
            address["company"] = f"{last} B.V."
            address["vat_id"] = row["taxvat"]
        rows.append(row)
    return rows


def order_address(customer: Doc | None, rng: random.Random, email: str) -> Doc:
    if customer:
        a = customer["addresses"][0]
        address = {
            k: a[k]
            for k in ("firstname", "lastname", "street", "city", "postcode", "country_id", "telephone")
        }
        if a.get("company"):
            address["company"] = a["company"]
            address["vat_id"] = a["vat_id"]
    else:
        country, city, postcode = rng.choice(CITIES)
        address = {
            "firstname": rng.choice(FIRST),
            "lastname": rng.choice(LAST),
            "street": ["Stationsplein 1"],
            "city": city,
            "postcode": postcode,
            "country_id": country,
            "telephone": "+31 20 0000000",
        }
    address["email"] = email
    return address
