"""External reference fields and the engine adapter's lookups."""

from __future__ import annotations

import httpx
import pytest
import respx

from ml_connector.exact.client import ExactClient
from ml_connector.exact.entities import ENTITY_SETS
from ml_connector.exact.rate import RateGovernor
from ml_connector.exact.refs import REF_FIELDS, ref_field
from ml_connector.exact.sandbox.schema import entities as documented_entities
from ml_connector.exact.target import ExactTarget
from ml_connector.http.errors import OutcomeUnknownError
from ml_connector.secrets import secret

from .conftest import BASE_URL, DIVISION

API = f"{BASE_URL}/api/v1/{DIVISION}"


class StaticTokens:
    def access_token(self):
        return secret("access-A")

    def after_unauthorized(self, rejected):
        raise AssertionError("no 401 expected")


@pytest.fixture
def target():
    client = ExactClient(
        base_url=BASE_URL,
        division=DIVISION,
        tokens=StaticTokens(),
        governor=RateGovernor(DIVISION),
        http=httpx.Client(),
    )
    return ExactTarget(client)


@pytest.mark.parametrize("entity", sorted(REF_FIELDS))
def test_every_reference_field_is_a_writable_string_in_exacts_reference(entity):
    # The sandbox's schema is a compact copy of the reference field lists (exact-entities.json).
    spec = REF_FIELDS[entity]
    owner = documented_entities()[spec.lookup_entity if spec.placement == "lines" else entity]
    field = owner.by_name[spec.field]
    assert field.edm == "Edm.String" and not field.read_only
    assert owner.by_name[spec.lookup_key].edm == "Edm.Guid"


@pytest.mark.parametrize("name", sorted(set(ENTITY_SETS) - {"Divisions"}))
def test_entity_paths_and_keys_match_the_reference(name):
    documented = documented_entities()[name]
    assert (ENTITY_SETS[name].path, ENTITY_SETS[name].key) == (documented.service_path, documented.key)


def test_account_code_is_right_aligned_and_limited_to_18():
    spec = ref_field("Accounts")
    assert spec.stored_value("10023") == " " * 13 + "10023"
    assert spec.lookup_filter("10023") == "Code eq '             10023'"
    with pytest.raises(ValueError, match="at most 18"):
        spec.stored_value("WC-site-000000000001")


def test_journal_entry_reference_goes_on_every_line():
    payload = {"JournalCode": "90", "GeneralJournalEntryLines": [{"AmountFC": 1}, {"AmountFC": -1}]}
    applied = ref_field("GeneralJournalEntries").apply(payload, "WC-1-7")
    assert [line["Description"] for line in applied["GeneralJournalEntryLines"]] == ["WC-1-7", "WC-1-7"]
    assert "Description" not in applied


@respx.mock
def test_find_by_ref_is_one_filtered_select(target):
    route = respx.get(f"{API}/salesinvoice/SalesInvoices").respond(
        200, json={"d": {"results": [{"InvoiceID": "g1"}]}}
    )
    assert target.find_by_ref("SalesInvoices", "WC-1-1001") == "g1"
    params = route.calls.last.request.url.params
    assert params["$filter"] == "YourRef eq 'WC-1-1001'" and params["$select"] == "InvoiceID"
    assert route.call_count == 1


@respx.mock
def test_find_by_ref_for_journal_entries_searches_the_lines(target):
    route = respx.get(f"{API}/generaljournalentry/GeneralJournalEntryLines").respond(
        200, json={"d": {"results": []}}
    )
    assert target.find_by_ref("GeneralJournalEntries", "WC-1-7") is None
    assert route.calls.last.request.url.params["$select"] == "EntryID"


@respx.mock
def test_create_returns_the_new_key_and_sends_return_representation(target):
    route = respx.post(f"{API}/salesorder/SalesOrders").respond(
        201, json={"d": {"OrderID": "o1", "YourRef": "WC-1"}}
    )
    assert target.create("SalesOrders", {"YourRef": "WC-1"}) == "o1"
    assert route.calls.last.request.headers["prefer"] == "return=representation"


@respx.mock
def test_create_without_a_key_in_the_answer_is_outcome_unknown(target):
    respx.post(f"{API}/salesorder/SalesOrders").respond(201, json={"d": {"YourRef": "WC-1"}})
    with pytest.raises(OutcomeUnknownError):
        target.create("SalesOrders", {"YourRef": "WC-1"})


def test_journal_entries_cannot_be_updated(target):
    with pytest.raises(ValueError, match="no PUT"):
        target.update("GeneralJournalEntries", "5b7f4515-b7a0-4839-ac69-574968677d96", {})
