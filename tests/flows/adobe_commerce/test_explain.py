from __future__ import annotations

from ml_connector.flows.adobe_commerce import ShopContext, explain_order, render_order_explanation
from tests.flows.adobe_commerce.data import CATEGORIES, sample_order
from tests.flows.gl_mapping.data import MAPPING_YAML, mapping, vat_mapping

SHOP = ShopContext(product_categories=CATEGORIES, vat=vat_mapping())


def test_explain_names_the_rule_and_reason_for_every_field() -> None:
    explanations = explain_order(mapping(), sample_order(), SHOP)
    by_label = {e.line.label: e for e in explanations}
    hoodie = by_label["item 10 'Chaz Kangeroo Hoodie'"].resolution
    assert hoodie is not None
    assert hoodie.sources["gl_account"].rule == "hoodies"
    assert hoodie.line.product_ids == frozenset({67, 56})  # configurable parent and chosen child
    ball = by_label["item 6 'Sprite Stasis Ball 65 cm'"].resolution
    assert ball is not None and ball.sources["gl_account"].reason == "rule 'fitness' matches category=20"
    assert ball.sources["cost_center"].reason == "no rule sets it; defaults.product"
    assert "item 5 'Sprite Yoga Companion Kit'" not in by_label  # booked through its components


def test_rendered_text_for_the_cli() -> None:
    text = render_order_explanation(mapping(), sample_order(), SHOP)
    assert text.splitlines()[0] == "Adobe order 000000003: 8 line(s), booking sales_invoice"
    assert "  gl_account: 8010  <- rule 'hoodies' matches sku=MH01-S-Gray" in text
    assert "  vat_code: 0  <- VAT settings: tax rate none (0%, US) -> '0'" in text
    assert (
        "item 5 'Sprite Yoga Companion Kit' (bundle): not booked itself, its components carry the amounts"
        in text
    )
    assert (
        "item 11 'Chaz Kangeroo Hoodie-S-Gray' (simple): not booked itself, its parent line carries" in text
    )


def test_unmapped_lines_are_shown_with_the_rule_to_add() -> None:
    doc = mapping(MAPPING_YAML.replace('  shipping: {gl_account: "8050", item: SHIP}\n', ""))
    text = render_order_explanation(doc, sample_order(), SHOP)
    assert "shipping (shipping)\n  NOT MAPPED: no GL account; set defaults.shipping" in text
