from __future__ import annotations

import pytest

from ml_connector.flows.adobe_commerce import MappingInputs, ShopContext
from ml_connector.flows.gl_mapping import ExactMasterData
from tests.flows.adobe_commerce.data import BUNDLE, CATALOG, CATEGORIES, COMPONENTS
from tests.flows.gl_mapping.data import exact_rows, mapping, vat_mapping


def shop_masterdata() -> ExactMasterData:
    items = [("Items", {"ID": f"item-{p.sku}", "Code": p.sku}) for p in [*CATALOG, *COMPONENTS, BUNDLE]]
    return ExactMasterData.from_exact_rows([*exact_rows(), *items])


def make_inputs(yaml_text: str | None = None, **changes: object) -> MappingInputs:
    shop = ShopContext(product_categories=CATEGORIES, vat=vat_mapping())
    doc = mapping(yaml_text) if yaml_text is not None else mapping()
    values: dict[str, object] = {
        "mapping": doc,
        "masterdata": shop_masterdata(),
        "shop": shop,
        "account_id": "acc-1",
    }
    values.update(changes)
    return MappingInputs(**values)  # type: ignore[arg-type]


@pytest.fixture
def inputs() -> MappingInputs:
    return make_inputs()
