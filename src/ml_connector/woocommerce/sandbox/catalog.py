"""The shop's catalogue: Dutch VAT rates, products (simple and variable), coupons; deterministic per seed.

Modelled on the captured store (`woo-real/`): EUR, base country NL, BTW 21% (standard, also on shipping)
and BTW 9% (class `reduced-rate`), a variable T-shirt with attribute "Maat", SKUs like "RW-TEA-250".
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from .models import Coupon, Product, TaxRate, Variation

TAX_RATES = (
    TaxRate(
        id=1,
        country="NL",
        rate=Decimal("21.0000"),
        name="BTW 21%",
        tax_class="standard",
        shipping=True,
        order=0,
    ),
    TaxRate(
        id=2,
        country="NL",
        rate=Decimal("9.0000"),
        name="BTW 9%",
        tax_class="reduced-rate",
        shipping=False,
        order=1,
    ),
)

# name, sku, price, tax class, weight
_SIMPLE = (
    ("Koffiebonen Espresso 1kg", "RW-COF-1KG", "24.95", "reduced-rate", "0.5"),
    ("Thee Earl Grey 250g", "RW-TEA-250", "6.50", "reduced-rate", "0.25"),
    ("Koffiemolen Handmatig", "RW-GRN-01", "49.00", "", "1.1"),
    ("Espressokopjes set (4)", "RW-CUP-4", "17.99", "", "0.8"),
    ("Filterkoffie Colombia 500g", "RW-COF-500", "11.95", "reduced-rate", "0.5"),
    ("Melkopschuimer", "RW-MILK-01", "34.50", "", "0.6"),
    ("Groene thee Sencha 100g", "RW-TEA-100", "8.25", "reduced-rate", "0.1"),
    ("Stroopwafels (8 stuks)", "", "3.49", "reduced-rate", "0.3"),  # a product without SKU, as shops have
    ("Cadeaubon", "RW-GIFT", "25.00", "", ""),
)
# name, parent sku, attribute, [(option, price)]
_VARIABLE = (
    ("RealWoo T-shirt", "RW-TSHIRT", "Maat", (("M", "25.00"), ("L", "27.50"), ("XL", "27.50"))),
    ("Koffiebeker RVS", "RW-MUG", "Kleur", (("Zwart", "14.95"), ("Wit", "14.95"))),
)
_COUPONS = (("welkom10", "10", "10% welcome discount"), ("trouw15", "15", "15% loyalty discount"))


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


@dataclass
class Catalog:
    rates: tuple[TaxRate, ...]
    products: dict[int, Product] = field(default_factory=dict)
    variations: dict[int, Variation] = field(default_factory=dict)
    coupons: dict[int, Coupon] = field(default_factory=dict)

    def rate_for(self, tax_class: str) -> TaxRate:
        wanted = tax_class or "standard"
        return next(rate for rate in self.rates if rate.tax_class == wanted)

    def shipping_rate(self) -> TaxRate:
        return next(rate for rate in self.rates if rate.shipping)

    def rate(self, rate_id: int) -> TaxRate:
        return next(rate for rate in self.rates if rate.id == rate_id)

    def sku_of(self, product_id: int, variation_id: int) -> str | None:
        """Today's SKU, read at render time like WooCommerce; None once the product is gone."""
        if variation_id:
            variation = self.variations.get(variation_id)
            return variation.sku if variation else None
        product = self.products.get(product_id)
        return product.sku if product else None

    def by_sku(self, sku: str) -> tuple[Product, Variation | None] | None:
        for product in self.products.values():
            if product.sku == sku and sku:
                return product, None
            for variation in product.variations:
                if variation.sku == sku and sku:
                    return product, variation
        return None

    def coupon_by_code(self, code: str) -> Coupon | None:
        return next((c for c in self.coupons.values() if c.code == code.lower()), None)

    def sellable(self) -> list[tuple[Product, Variation | None]]:
        out: list[tuple[Product, Variation | None]] = []
        for product in self.products.values():
            if product.variations:
                out.extend((product, variation) for variation in product.variations)
            else:
                out.append((product, None))
        return out


def build_catalog(seed: int, now: float, post_ids: Iterator[int], products: int | None = None) -> Catalog:
    """Products, variations and coupons with post ids from `post_ids` (WordPress shares one id sequence)."""
    rng = random.Random(f"catalog:{seed}")
    catalog = Catalog(rates=TAX_RATES)
    created = now - 90 * 86400
    simple = list(_SIMPLE)
    if products is not None:
        simple = [_SIMPLE[i % len(_SIMPLE)] for i in range(max(1, products - len(_VARIABLE)))]
    for index, (name, sku, price, tax_class, weight) in enumerate(simple):
        copy = index // len(_SIMPLE)
        suffix = f" #{copy + 1}" if copy else ""
        product = Product(
            id=next(post_ids),
            name=name + suffix,
            slug=_slug(name + suffix),
            sku=f"{sku}-{copy + 1}" if copy and sku else sku,
            price=Decimal(price),
            tax_class=tax_class,
            created=created + index * 60,
            modified=created + index * 60 + rng.randrange(0, 30 * 86400),
            stock_quantity=rng.randrange(5, 150) if sku else None,
            weight=weight,
        )
        catalog.products[product.id] = product
    for name, sku, attribute, options in _VARIABLE:
        parent = Product(
            id=next(post_ids),
            name=name,
            slug=_slug(name),
            sku=sku,
            price=min(Decimal(price) for _, price in options),
            tax_class="",
            created=created + 3600,
            modified=created + 3600 + rng.randrange(0, 30 * 86400),
            stock_quantity=None,
            attribute=attribute,
        )
        catalog.products[parent.id] = parent
        for option, price in options:
            variation = Variation(
                id=next(post_ids),
                parent_id=parent.id,
                sku=f"{sku}-{option.upper()}",
                option=option,
                price=Decimal(price),
                created=parent.created,
                modified=parent.modified,
                stock_quantity=rng.randrange(5, 60),
                weight="0.2",
            )
            parent.variations.append(variation)
            catalog.variations[variation.id] = variation
    for code, amount, description in _COUPONS:
        coupon = Coupon(
            id=next(post_ids),
            code=code,
            amount=Decimal(amount),
            discount_type="percent",
            description=description,
            created=created + 7200,
            modified=created + 7200,
        )
        catalog.coupons[coupon.id] = coupon
    return catalog
