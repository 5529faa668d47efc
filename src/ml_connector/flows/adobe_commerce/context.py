"""What the GL mapping may match on beyond the document itself: product categories, the store view
and website of the document, and the connection's VAT settings. Looked up by the sync glue (catalog
and `/V1/store/storeConfigs` via the Adobe client) and passed in, so the mapping stays pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ml_connector.adobe_commerce.models import Order, Product, StoreConfig
from ml_connector.flows.vat import TaxRateInfo, VatMapping


@dataclass(frozen=True)
class ShopContext:
    product_categories: Mapping[int, frozenset[str]] = field(default_factory=dict)  # product id -> ids
    stores: Mapping[int, StoreConfig] = field(default_factory=dict)  # store id -> config
    website_codes: Mapping[int, str] = field(default_factory=dict)  # website id -> code
    vat: VatMapping | None = None  # the connection's VAT settings (shared with the WooCommerce flow)

    @classmethod
    def build(
        cls,
        products: Iterable[Product] = (),
        stores: Iterable[StoreConfig] = (),
        website_codes: Mapping[int, str] | None = None,
        vat: VatMapping | None = None,
    ) -> ShopContext:
        """From the Adobe client's records: products (`category_ids`) and `/V1/store/storeConfigs`."""
        return cls(
            product_categories={p.id: _category_ids(p) for p in products},
            stores={s.id: s for s in stores},
            website_codes=dict(website_codes or {}),
            vat=vat,
        )

    def categories(self, product_ids: Iterable[int]) -> frozenset[str]:
        found: set[str] = set()
        for product_id in product_ids:
            found |= self.product_categories.get(product_id, frozenset())
        return frozenset(found)

    def stores_of(self, store_id: int | None) -> frozenset[str]:
        if store_id is None:
            return frozenset()
        config = self.stores.get(store_id)
        return frozenset({str(store_id), config.code} if config else {str(store_id)})

    def websites_of(self, store_id: int | None) -> frozenset[str]:
        config = self.stores.get(store_id) if store_id is not None else None
        if config is None:
            return frozenset()
        code = self.website_codes.get(config.website_id)
        return frozenset({str(config.website_id), code} if code else {str(config.website_id)})

    def vat_hint(
        self, order: Order, percent: Decimal | None, rate_code: str | None
    ) -> tuple[str | None, str]:
        """(Exact VAT code, reason) from the connection's VAT settings for one line of `order`."""
        if self.vat is None:
            return None, "the connection has no VAT settings"
        settings = self.vat.settings
        billing = order.billing_address
        country = billing.country_id if billing else None
        untaxed = percent is None or percent == 0
        if untaxed and self.vat.uses_reverse_charge(country, billing.vat_id if billing else None):
            return settings.reverse_charge_vat_code, f"VAT settings: reverse charge ({country}, VAT number)"
        rate = TaxRateInfo(rate=rate_code or "none", percent=percent, country=country)
        code = self.vat.code_for(rate)
        if code is not None:
            return code, f"VAT settings: {rate.describe()} -> '{code}'"
        if untaxed and settings.no_tax_vat_code:
            return settings.no_tax_vat_code, "VAT settings: untaxed line -> no_tax_vat_code"
        return None, f"VAT settings have no rule for {rate.describe()}"


def _category_ids(product: Product) -> frozenset[str]:
    """The `category_ids` custom attribute of a product (a list of ids; absent when not assigned)."""
    value = product.attribute("category_ids")
    return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()
