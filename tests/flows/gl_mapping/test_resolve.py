from __future__ import annotations

from decimal import Decimal

import pytest

from ml_connector.flows.gl_mapping import LineContext, LineKind, MappingDoc, NoMappingError, resolve
from ml_connector.flows.gl_mapping.model import Match, Rule, Target


def doc(*rules: Rule, **defaults: Target) -> MappingDoc:
    base = {LineKind.PRODUCT: Target(gl_account="8000", cost_center="WEB", vat_code="2")}
    base.update({LineKind(kind): target for kind, target in defaults.items()})
    return MappingDoc(journal="70", defaults=base, rules=rules)


def line(**fields: object) -> LineContext:
    values: dict[str, object] = {"kind": LineKind.PRODUCT, "label": "item 1"}
    values.update(fields)
    return LineContext(**values)  # type: ignore[arg-type]


def rule(name: str, gl: str, **match: object) -> Rule:
    return Rule(name=name, match=Match.model_validate(match), gl_account=gl)


FULL_LINE = {
    "sku": "A-1",
    "product_ids": frozenset({7}),
    "categories": frozenset({"20"}),
    "product_type": "simple",
    "stores": frozenset({"1", "default"}),
    "websites": frozenset({"1", "base"}),
}


def test_default_applies_when_no_rule_matches() -> None:
    result = resolve(doc(rule("other", "8010", sku="B-2")), line(**FULL_LINE))
    assert (result.gl_account, result.cost_center, result.vat_code) == ("8000", "WEB", "2")
    assert result.sources["gl_account"].origin == "default"
    assert result.applicable_rules == ()


@pytest.mark.parametrize(
    ("criterion", "value"),
    [
        ("sku", "A-1"),
        ("product_id", 7),
        ("category", "20"),
        ("product_type", "simple"),
        ("store", "default"),
        ("store", "1"),
        ("website", "base"),
        ("website", "1"),
    ],
)
def test_each_criterion_matches_and_a_wrong_value_does_not(criterion: str, value: object) -> None:
    hit = resolve(doc(rule("r", "8010", **{criterion: value})), line(**FULL_LINE))
    assert hit.gl_account == "8010"
    assert hit.sources["gl_account"].rule == "r"
    wrong = "nope" if isinstance(value, str) else 999
    miss = resolve(doc(rule("r", "8010", **{criterion: wrong})), line(**FULL_LINE))
    assert miss.gl_account == "8000"


# Each pair: (more specific, less specific) must win in either document order.
PRECEDENCE = [
    ({"sku": "A-1"}, {"product_id": 7}),
    ({"product_id": 7}, {"category": "20"}),
    ({"category": "20"}, {"product_type": "simple"}),
    ({"product_type": "simple"}, {"store": "default"}),
    ({"store": "default"}, {"website": "base"}),
    ({"sku": "A-1"}, {"category": "20", "product_type": "simple", "store": "default", "website": "base"}),
    ({"sku": "A-1", "store": "default"}, {"sku": "A-1"}),
    ({"category": "20", "website": "base"}, {"category": "20"}),
]


@pytest.mark.parametrize(("specific", "general"), PRECEDENCE)
@pytest.mark.parametrize("specific_first", [True, False])
def test_most_specific_rule_wins_regardless_of_order(
    specific: dict[str, object], general: dict[str, object], specific_first: bool
) -> None:
    rules = [rule("specific", "8010", **specific), rule("general", "8020", **general)]
    if not specific_first:
        rules.reverse()
    result = resolve(doc(*rules), line(**FULL_LINE))
    assert result.gl_account == "8010"
    assert result.applicable_rules[0] == "specific"
    assert "more specific than 'general'" in result.sources["gl_account"].reason


def test_tie_goes_to_the_earlier_rule_and_is_explained() -> None:
    both = line(**{**FULL_LINE, "categories": frozenset({"20", "30"})})
    result = resolve(doc(rule("cat-30", "8020", category="30"), rule("cat-20", "8010", category="20")), both)
    assert result.gl_account == "8020"
    assert "tie with 'cat-20'" in result.sources["gl_account"].reason


def test_fields_resolve_separately_most_specific_setter_per_field() -> None:
    sku_gl = rule("sku-gl", "8010", sku="A-1")
    website_cc = Rule(name="website-cc", match=Match(website="base"), cost_center="WEBB")
    result = resolve(doc(website_cc, sku_gl), line(**FULL_LINE))
    assert (result.gl_account, result.cost_center) == ("8010", "WEBB")
    assert result.sources["gl_account"].rule == "sku-gl"
    assert result.sources["cost_center"].rule == "website-cc"


def test_explicit_null_clears_a_default() -> None:
    no_cc = Rule.model_validate({"name": "no-cc", "match": {"sku": "A-1"}, "cost_center": None})
    result = resolve(doc(no_cc), line(**FULL_LINE))
    assert result.cost_center is None
    assert result.sources["cost_center"].rule == "no-cc"


def test_rules_apply_only_to_their_line_kind() -> None:
    shipping = Rule(name="ship-b", line=LineKind.SHIPPING, match=Match(website="base"), gl_account="8050")
    mapping = doc(shipping, shipping=Target(gl_account="8051", vat_code="2"))
    assert resolve(mapping, line(**FULL_LINE)).gl_account == "8000"
    ship_line = LineContext(kind=LineKind.SHIPPING, label="shipping", websites=frozenset({"base"}))
    assert resolve(mapping, ship_line).gl_account == "8050"
    other_site = LineContext(kind=LineKind.SHIPPING, label="shipping", websites=frozenset({"2"}))
    assert resolve(mapping, other_site).gl_account == "8051"


def test_vat_code_falls_back_to_the_vat_settings_hint() -> None:
    mapping = MappingDoc(journal="70", defaults={LineKind.PRODUCT: Target(gl_account="8000")})
    result = resolve(mapping, line(tax_percent=Decimal(9), vat_hint="1", vat_hint_reason="VAT settings: 9%"))
    assert result.vat_code == "1"
    assert result.sources["vat_code"].origin == "vat_settings"
    # A rule's vat_code beats the hint.
    override = Rule(name="zero", match=Match(sku="A-1"), vat_code="0")
    ruled = MappingDoc(journal="70", defaults=mapping.defaults, rules=(override,))
    assert resolve(ruled, line(sku="A-1", vat_hint="1")).vat_code == "0"


def test_no_gl_account_names_the_line_and_the_rule_to_add() -> None:
    mapping = MappingDoc(journal="70", defaults={})
    with pytest.raises(NoMappingError) as caught:
        resolve(mapping, line(sku="A-1", label="item 3 'Tee'"))
    message = str(caught.value)
    assert "item 3 'Tee' (product, sku A-1)" in message
    assert "match: {sku: 'A-1'}" in message
    assert "defaults.product" in message
    assert caught.value.missing == "GL account"


def test_no_vat_code_names_the_percent_to_map() -> None:
    mapping = MappingDoc(journal="70", defaults={LineKind.PRODUCT: Target(gl_account="8000")})
    with pytest.raises(NoMappingError, match=r"no VAT code .* VAT rule for 6%"):
        resolve(mapping, line(tax_percent=Decimal("6.00")))
