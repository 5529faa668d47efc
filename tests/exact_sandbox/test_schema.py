"""The packaged field lists are the reference's (exact-entities.json), and the OData parser's edge cases."""

from __future__ import annotations

import json

import pytest

from ml_connector.exact.sandbox.formats import ExactError
from ml_connector.exact.sandbox.odata import compile_filter, equality_terms, parse_query
from ml_connector.exact.sandbox.schema import entities
from tests.shared_data import REFERENCE

REFERENCE = REFERENCE / "exact-entities.json"
TYPES = {"Code": "Edm.String", "ID": "Edm.Guid", "Amount": "Edm.Double", "Timestamp": "Edm.Int64"}


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference pack not available")
def test_packaged_entities_match_the_reference() -> None:
    reference = json.loads(REFERENCE.read_text())["entities"]
    ours = entities()
    for name, entry in reference.items():
        spec = ours[name]
        assert spec.service_path == entry["service_path"] and spec.key == entry["key"], name
        assert spec.methods == frozenset(entry["methods"]), name
        assert spec.mandatory_on_post == tuple(entry["mandatory_on_post"]), name
        assert [(f.name, f.edm, f.read_only) for f in spec.fields] == [
            (f["name"], f["type"], f["read_only"]) for f in entry["fields"]
        ], name


def matches(filter_: str, row: dict[str, object]) -> bool:
    query = parse_query({"$filter": filter_}, TYPES, "T")
    assert query.filter is not None
    return compile_filter(query.filter)(row)


def test_string_literals_with_doubled_quotes_and_precedence() -> None:
    assert matches("Code eq 'O''Brien'", {"Code": "O'Brien"})
    assert matches("Code eq 'a' or Code eq 'b' and Amount gt 5", {"Code": "a", "Amount": 1})
    assert not matches("(Code eq 'a' or Code eq 'b') and Amount gt 5", {"Code": "a", "Amount": 1})
    assert matches("not (Amount lt 5.5)", {"Amount": 5.5})
    assert matches("Amount eq null", {"Amount": None}) and not matches("Amount gt 1", {"Amount": None})


def test_index_terms_come_only_from_the_top_level_and_chain() -> None:
    query = parse_query({"$filter": "Code eq 'X ' and (Amount gt 1 or Code eq 'Y')"}, TYPES, "T")
    assert query.filter is not None and equality_terms(query.filter) == [("Code", "x")]
    either = parse_query({"$filter": "Code eq 'X' or Code eq 'Y'"}, TYPES, "T")
    assert either.filter is not None and equality_terms(either.filter) == []


@pytest.mark.parametrize(
    "params",
    [
        {"$top": "-1"},
        {"$skip": "x"},
        {"$inlinecount": "some"},
        {"$orderby": "Code sideways"},
        {"$bogus": "1"},
        {"$filter": "Code eq 'unterminated"},
    ],
)
def test_bad_options_are_400(params: dict[str, str]) -> None:
    with pytest.raises(ExactError) as raised:
        parse_query(params, TYPES, "T")
    assert raised.value.status == 400
