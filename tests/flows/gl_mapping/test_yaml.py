from __future__ import annotations

import pytest

from ml_connector.flows.gl_mapping import LineKind, MappingInvalid, export_mapping, parse_mapping
from tests.flows.gl_mapping.data import MAPPING_YAML


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(MappingInvalid) as caught:
        parse_mapping(text)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_parses_the_example_document() -> None:
    doc = parse_mapping(MAPPING_YAML)
    assert doc.journal == "70"
    assert doc.defaults[LineKind.SHIPPING].item == "SHIP"
    assert [r.name for r in doc.rules] == ["hoodies", "fitness", "downloads"]
    assert doc.rules[0].line is LineKind.PRODUCT


def test_export_round_trips_and_keeps_unset_fields_unset() -> None:
    doc = parse_mapping(MAPPING_YAML)
    text = export_mapping(doc)
    again = parse_mapping(text)
    assert again.to_plain() == doc.to_plain()
    assert again.rules == doc.rules
    assert export_mapping(again) == text
    assert "cost_unit" not in text.split("downloads")[0]  # only the rule that sets it writes it
    assert text.startswith("# ml-connector GL mapping")


def test_explicit_null_survives_the_round_trip() -> None:
    text = MAPPING_YAML + "  - name: no-cc\n    match: {sku: X}\n    cost_center: null\n"
    again = parse_mapping(export_mapping(parse_mapping(text)))
    assert "cost_center" in again.rules[-1].model_fields_set
    assert again.rules[-1].cost_center is None


def test_schema_errors_carry_the_line_of_the_offending_key() -> None:
    text = MAPPING_YAML.replace("    cost_unit: EU\n", "    cost_unit: EU\n    gl_acount: '8000'\n")
    lines = text.splitlines()
    expected_line = lines.index("    gl_acount: '8000'") + 1
    assert problems_of(text) == [(expected_line, "rules.2.gl_acount", "Extra inputs are not permitted")]


def test_unknown_line_kind_and_default_kind_are_located() -> None:
    text = MAPPING_YAML.replace("  shipping: {", "  shiping: {").replace(
        "    match: {sku: MH01-S-Gray}", "    line: produkt\n    match: {sku: MH01-S-Gray}"
    )
    found = problems_of(text)
    lines = text.splitlines()
    assert (lines.index('  shiping: {gl_account: "8050", item: SHIP}') + 1, "defaults.shiping") in [
        (line, path) for line, path, _ in found
    ]
    assert (lines.index("    line: produkt") + 1, "rules.0.line") in [(line, path) for line, path, _ in found]


def test_missing_journal_is_reported_on_the_document() -> None:
    found = problems_of(MAPPING_YAML.replace('journal: "70"\n', ""))
    assert [(path, message) for _, path, message in found] == [("journal", "Field required")]


def test_yaml_syntax_error_has_its_line() -> None:
    text = MAPPING_YAML.replace("  - name: fitness", "  - name: [fitness")
    [(line, _, message)] = problems_of(text)
    assert message.startswith("not valid YAML")
    assert line is not None and line >= text.splitlines().index("  - name: [fitness") + 1


def test_document_must_be_a_mapping() -> None:
    assert problems_of("- a\n- b\n")[0][2].startswith("the document must be a mapping")


def test_duplicate_keys_are_refused_not_silently_overwritten() -> None:
    text = MAPPING_YAML.replace(
        '    gl_account: "8010"\n', '    gl_account: "8010"\n    gl_account: "8020"\n'
    )
    found = problems_of(text)
    line = text.splitlines().index('    gl_account: "8020"') + 1
    assert (line, "rules.0.gl_account", "key 'gl_account' appears twice") in found


def test_structure_problems_are_all_listed_with_lines() -> None:
    text = MAPPING_YAML + (
        "  - name: hoodies\n"  # duplicate name
        "    match: {sku: ZZ}\n"
        "    gl_account: '8000'\n"
        "  - name: empty\n"  # sets nothing
        "    match: {sku: QQ}\n"
        "  - name: ship-sku\n"  # shipping has no sku
        "    line: shipping\n"
        "    match: {sku: X}\n"
        "    gl_account: '8050'\n"
        "  - name: hoodies-again\n"  # same match as 'hoodies', also sets gl_account
        "    match: {sku: MH01-S-Gray}\n"
        "    gl_account: '8000'\n"
    )
    lines = text.splitlines()
    found = {(line, path): message for line, path, message in problems_of(text)}
    dup_line = [i for i, text_line in enumerate(lines) if text_line == "  - name: hoodies"][1] + 1
    assert "used twice" in found[(dup_line, "rules.3.name")]
    assert "sets none of" in found[(lines.index("  - name: empty") + 1, "rules.4")]
    assert (
        "shipping lines have no sku" in found[(lines.index("    match: {sku: X}") + 1, "rules.5.match.sku")]
    )
    conflict_line = lines.index("    gl_account: '8000'", lines.index("  - name: hoodies-again")) + 1
    assert "same match as rule 'hoodies'" in found[(conflict_line, "rules.6.gl_account")]
    assert len(found) == 4


def test_unquoted_codes_stay_text_exactly_as_written() -> None:
    text = MAPPING_YAML.replace('gl_account: "8010"', "gl_account: 0100").replace(
        "match: {sku: MH01-S-Gray}", "match: {sku: 12345, product_id: 29}"
    )
    rule = parse_mapping(text).rules[0]
    assert (rule.gl_account, rule.match.sku, rule.match.product_id) == ("0100", "12345", 29)
    assert parse_mapping(text.replace('journal: "70"', "journal: 70")).journal == "70"


def test_unsupported_format_version_is_refused() -> None:
    [(line, path, _)] = problems_of(MAPPING_YAML.replace("format: 1", "format: 2"))
    assert (line, path) == (1, "format")
