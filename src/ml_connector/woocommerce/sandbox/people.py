"""Registered customers and guest buyers, deterministic per seed (Dutch, Belgian and German addresses)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .models import Address, Customer, Meta

VAT_META_KEY = "vat_number"  # the key the EU VAT Number / EU VAT Assistant plugins use on users and orders
SHOP_COUNTRY = "NL"


def reverse_charged(vat_number: str | None, country: str) -> bool:
    """An EU business buyer outside the shop's country with a VAT number pays no Dutch VAT (ICP)."""
    return bool(vat_number) and country not in ("", SHOP_COUNTRY)


def vat_order_meta(vat_number: str | None, country: str) -> list[tuple[str, str]]:
    """The order meta an EU VAT plugin writes at checkout."""
    if not vat_number:
        return []
    return [(VAT_META_KEY, vat_number)] + (
        [("is_vat_exempt", "yes")] if reverse_charged(vat_number, country) else []
    )


_FIRST = (
    "Jan",
    "Sanne",
    "Pieter",
    "Emma",
    "Femke",
    "Daan",
    "Lotte",
    "Bram",
    "Sophie",
    "Lucas",
    "Anouk",
    "Thijs",
    "Eva",
    "Milan",
    "Julia",
    "Sem",
    "Noor",
    "Ruben",
    "Tess",
    "Jesse",
)
_LAST = (
    "Jansen",
    "de Vries",
    "Bakker",
    "Visser",
    "Mulder",
    "Smit",
    "Meijer",
    "de Boer",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Dijk",
    "Dekker",
    "Brouwer",
    "de Graaf",
    "Kok",
    "Jacobs",
    "van Leeuwen",
    "Willems",
)
# street, postcode, city, country
_ADDRESSES = (
    ("Prinsengracht 263", "1016 GV", "Amsterdam", "NL"),
    ("Oudegracht 150", "3511 AZ", "Utrecht", "NL"),
    ("Coolsingel 40", "3011 AD", "Rotterdam", "NL"),
    ("Grote Markt 5", "9711 LV", "Groningen", "NL"),
    ("Lange Voorhout 7", "2514 EA", "Den Haag", "NL"),
    ("Stratumseind 12", "5611 ET", "Eindhoven", "NL"),
    ("Vrijthof 3", "6211 LD", "Maastricht", "NL"),
    ("Meir 50", "2000", "Antwerpen", "BE"),
    ("Schildergasse 20", "50667", "Köln", "DE"),
)


@dataclass(frozen=True, slots=True)
class Buyer:
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    street: str
    postcode: str
    city: str
    country: str

    def billing(self) -> Address:
        """Order billing, in the order's key order (state before postcode)."""
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "address_1": self.street,
            "address_2": "",
            "city": self.city,
            "state": "",
            "postcode": self.postcode,
            "country": self.country,
            "email": self.email,
            "phone": self.phone,
        }

    def shipping(self) -> Address:
        address = self.billing()
        del address["email"]
        return address


def buyer(rng: random.Random, index: int) -> Buyer:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    street, postcode, city, country = rng.choice(_ADDRESSES)
    local = f"{first}.{last}".lower().replace(" ", "")
    return Buyer(
        first,
        last,
        f"{local}{index}@example.test",
        f"06{rng.randrange(10_000_000, 99_999_999)}",
        "",
        street,
        postcode,
        city,
        country,
    )


B2B_BUYERS = (
    # An EU business buyer: reverse-charged (no Dutch VAT), VAT number in user and order meta.
    Buyer(
        "Lotte",
        "Peeters",
        "inkoop@peeters-koffie.example.test",
        "+3232001122",
        "Peeters Koffiebranderij BV",
        "Meir 50",
        "2000",
        "Antwerpen",
        "BE",
    ),
    Buyer(
        "Sanne",
        "de Vries",
        "sanne.devries@example.test",
        "0623456789",
        "De Vries Design B.V.",
        "Oudegracht 150",
        "3511 AZ",
        "Utrecht",
        "NL",
    ),
)
B2B_VAT_NUMBERS = {"BE": "BE0123456749"}


def customer_address(address: Address, *, with_email: bool) -> Address:
    """Customer addresses use WooCommerce's customer key order (postcode, country, state)."""
    keys = [
        "first_name",
        "last_name",
        "company",
        "address_1",
        "address_2",
        "city",
        "postcode",
        "country",
        "state",
    ]
    keys += ["email", "phone"] if with_email else ["phone"]
    return {key: address.get(key, "") for key in keys}


def make_customer(customer_id: int, person: Buyer, created: float, meta_id: int) -> Customer:
    meta = [Meta(meta_id, "wc_last_active", str(int(created // 86400 * 86400)))]
    vat = B2B_VAT_NUMBERS.get(person.country) if person.company else None
    if vat:
        meta.append(Meta(meta_id + 1, VAT_META_KEY, vat))
    username = (person.first_name + person.last_name).lower().replace(" ", "")
    return Customer(
        id=customer_id,
        email=person.email,
        first_name=person.first_name,
        last_name=person.last_name,
        username=f"{username}{customer_id}",
        billing=customer_address(person.billing(), with_email=True),
        shipping=customer_address(person.shipping(), with_email=False),
        created=created,
        modified=created,
        meta=meta,
    )


def seed_customers(seed: int, count: int, now: float) -> list[Customer]:
    rng = random.Random(f"customers:{seed}")
    people = [*B2B_BUYERS[: min(count, len(B2B_BUYERS))]]
    people += [buyer(rng, index) for index in range(count - len(people))]
    start = now - 120 * 86400
    step = (100 * 86400) / max(1, count)
    return [
        make_customer(2 + index, person, start + index * step, 100 + index * 2)
        for index, person in enumerate(people)
    ]


def buyer_of(customer: Customer) -> Buyer:
    b = customer.billing
    return Buyer(
        b["first_name"],
        b["last_name"],
        b["email"],
        b["phone"],
        b["company"],
        b["address_1"],
        b["postcode"],
        b["city"],
        b["country"],
    )
