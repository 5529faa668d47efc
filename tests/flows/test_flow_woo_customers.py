"""Customers <-> Accounts on the real customers (2, 3, 4) and the real customer 5 webhooks."""

import copy
from typing import Any

import pytest

from ml_connector.flows.accounts import (
    AccountCodePolicy,
    ExactAccountRef,
    MatchAction,
    SyncAction,
    SyncDecision,
    decide_master_data_sync,
    master_data_from_account,
    match_account,
)
from ml_connector.flows.problems import MappingError
from ml_connector.flows.woocommerce.customers import (
    account_for_customer,
    account_for_order,
    customer_email,
    customer_update_payload,
    master_data_from_customer,
    order_account_decision,
)
from ml_connector.woocommerce.models import Customer, Order
from tests.flows import woo_data as w


def decide_customer_sync(link_hash: str | None, customer: Customer, account: dict[str, Any]) -> SyncDecision:
    """Both sides of a linked customer, compared as the pipeline compares them."""
    return decide_master_data_sync(
        link_hash, master_data_from_customer(customer), master_data_from_account(account)
    )


SANNE = next(customer for customer in w.customers() if customer.id == 3)
JAN = next(customer for customer in w.customers() if customer.id == 2)
GUEST_ORDER = "order-guest-coupon-completed.json"


def exact_account(customer: Customer, **changes: Any) -> dict[str, Any]:
    """The Exact Account record as Exact returns it after we created it (padded Country and Code)."""
    payload = account_for_customer(customer, w.settings()).to_payload()
    record = {"ID": "71b961de-b9f3-49fe-883d-0f46c7e0e89b", "Code": "                42", **payload}
    record["Country"] = f"{payload['Country']} "
    record.update(changes)
    return record


def test_company_customer_becomes_an_account_named_after_the_company() -> None:
    payload = account_for_customer(SANNE, w.settings()).to_payload()
    assert payload == {
        "Name": "De Vries Design B.V.",
        "Email": "sanne.devries@example.test",
        "Phone": "0623456789",
        "AddressLine1": "Oudegracht 150",
        "Postcode": "3511 AZ",
        "City": "Utrecht",
        "Country": "NL",
        "Status": "C",
    }


def test_person_account_and_code_policies() -> None:
    assert account_for_customer(JAN, w.settings()).to_payload()["Name"] == "Jan Jansen"
    assert "Code" not in account_for_customer(JAN, w.settings()).to_payload()
    prefixed = w.settings(account_code={"mode": "prefix_id", "prefix": "90"})
    assert account_for_customer(JAN, prefixed).to_payload()["Code"] == "902"
    with pytest.raises(ValueError, match="longer than 18 digits"):
        AccountCodePolicy(mode="prefix_id", prefix="12345678").code_for(12345678901)


def test_vat_number_from_customer_meta() -> None:
    data = JAN.model_dump(mode="json")
    data["meta_data"].append({"id": 9, "key": "vat_number", "value": "NL 8669.59.300.B01"})
    assert account_for_customer(Customer.model_validate(data), w.settings()).to_payload()["VATNumber"] == (
        "NL866959300B01"
    )


def test_registered_customer_match_order_link_then_email_then_create() -> None:
    order = w.order("order-registered-coupon-fee-mixed-tax.json")
    candidates = [ExactAccountRef("acc-jan", "  7", "Jan.Jansen@Example.test")]
    linked = order_account_decision(order, w.settings(), linked_account_id="acc-link", candidates=candidates)
    assert (linked.action, linked.account_id) == (MatchAction.LINKED, "acc-link")
    matched = order_account_decision(order, w.settings(), linked_account_id=None, candidates=candidates)
    assert (matched.action, matched.account_id) == (MatchAction.MATCHED, "acc-jan")
    created = order_account_decision(order, w.settings(), linked_account_id=None, candidates=[])
    assert created.action == MatchAction.CREATE and created.account_id is None


def test_several_accounts_with_the_email_prefer_customers_then_lowest_code() -> None:
    candidates = [
        ExactAccountRef("supplier", "1", "jan.jansen@example.test", status="A"),
        ExactAccountRef("customer-20", "                20", "jan.jansen@example.test"),
        ExactAccountRef("customer-3", "                 3", "jan.jansen@example.test"),
        ExactAccountRef("blocked", "                 1", "jan.jansen@example.test", blocked=True),
    ]
    match = match_account(linked_account_id=None, email=customer_email(JAN), candidates=candidates)
    assert match.account_id == "customer-3"
    assert "first of 3 accounts" in match.reason


def test_guest_is_matched_by_billing_email_or_created() -> None:
    order = w.order(GUEST_ORDER)
    assert order.is_guest
    candidates = [ExactAccountRef("acc-emma", "5", "emma.visser@example.test")]
    match = order_account_decision(order, w.settings(), linked_account_id=None, candidates=candidates)
    assert (match.action, match.account_id) == (MatchAction.MATCHED, "acc-emma")
    create = order_account_decision(order, w.settings(), linked_account_id=None, candidates=[])
    assert create.action == MatchAction.CREATE
    draft = account_for_order(order, w.settings(account_code={"mode": "prefix_id", "prefix": "9"}))
    assert draft.code is None  # guests have no customer id: Exact assigns the code
    assert draft.to_payload()["Name"] == "Emma Visser"


def test_guest_policy_collective_account() -> None:
    settings = w.settings(guest_policy="collective_account", guest_account_id=w.ACCOUNT_ID.upper())
    match = order_account_decision(w.order(GUEST_ORDER), settings, linked_account_id=None, candidates=[])
    assert (match.action, match.account_id) == (MatchAction.COLLECTIVE, w.ACCOUNT_ID)


def test_guest_without_email_is_a_clear_error() -> None:
    data = copy.deepcopy(w.load(GUEST_ORDER))
    data["billing"]["email"] = None
    order = Order.model_validate(data)
    with pytest.raises(MappingError) as raised:
        order_account_decision(order, w.settings(), linked_account_id=None, candidates=[])
    assert "WooCommerce order 19, billing: guest order without a billing e-mail" in str(raised.value)


def test_exact_edit_flows_back_and_its_echo_is_recognised() -> None:
    created = master_data_from_customer(SANNE)
    link_hash = created.fingerprint()
    account = exact_account(SANNE, Phone="030 1234567", AddressLine1="Oudegracht 152")
    decision = decide_customer_sync(link_hash, SANNE, account)
    assert (decision.action, decision.winner, decision.conflict) == (SyncAction.UPDATE_SHOP, "exact", False)
    payload = customer_update_payload(account, SANNE)
    assert (
        payload["billing"]["phone"] == "030 1234567"
        and payload["billing"]["company"] == "De Vries Design B.V."
    )
    # WooCommerce applies the update and fires customer.updated: the echo must not go back to Exact.
    data = SANNE.model_dump(mode="json")
    data["billing"].update(payload["billing"])
    echoed = Customer.model_validate(data)
    echo = decide_customer_sync(decision.link_hash, echoed, account)
    assert echo.action == SyncAction.IN_SYNC and echo.reason == "our own write echoed back"


def test_person_name_from_exact_is_split_so_it_hashes_equal() -> None:
    account = exact_account(JAN, Name="Jan de Jansen-Smit")
    payload = customer_update_payload(account, JAN)
    assert (payload["billing"]["first_name"], payload["billing"]["last_name"]) == ("Jan", "de Jansen-Smit")
    data = JAN.model_dump(mode="json")
    data["billing"].update(payload["billing"])
    assert master_data_from_customer(Customer.model_validate(data)) == master_data_from_account(account)


def test_real_customer_update_in_woocommerce_goes_to_exact() -> None:
    created = Customer.model_validate(w.load("webhook-customer-created.body.json"))
    updated = Customer.model_validate(w.load("webhook-customer-updated.body.json"))
    link_hash = master_data_from_customer(created).fingerprint()
    account = exact_account(created)
    decision = decide_customer_sync(link_hash, updated, account)
    assert (decision.action, decision.winner) == (SyncAction.UPDATE_EXACT, "shop")
    update = account_for_customer(updated, w.settings()).update_payload()
    assert update["AddressLine2"] == "2e etage" and update["Phone"] == "0611112222"


def test_edits_on_both_sides_resolve_to_exact_and_say_so() -> None:
    created = Customer.model_validate(w.load("webhook-customer-created.body.json"))
    updated = Customer.model_validate(w.load("webhook-customer-updated.body.json"))
    link_hash = master_data_from_customer(created).fingerprint()
    decision = decide_customer_sync(link_hash, updated, exact_account(created, City="Delft"))
    assert (decision.action, decision.winner, decision.conflict) == (SyncAction.UPDATE_SHOP, "exact", True)
    assert "Exact wins" in decision.reason


def test_first_sync_of_a_matched_account_takes_exacts_data() -> None:
    decision = decide_customer_sync(None, JAN, exact_account(JAN, City="Haarlem"))
    assert (decision.action, decision.winner) == (SyncAction.UPDATE_SHOP, "exact")
    same = decide_customer_sync(None, JAN, exact_account(JAN))
    assert same.action == SyncAction.IN_SYNC


def test_account_and_item_payloads_use_only_writable_exact_fields() -> None:
    data = SANNE.model_dump(mode="json")
    data["meta_data"].append({"id": 9, "key": "_billing_vat_number", "value": "NL866959300B01"})
    settings = w.settings(account_code={"mode": "prefix_id"})
    draft = account_for_customer(Customer.model_validate(data), settings)
    assert set(draft.to_payload()) <= w.writable("Accounts")
    assert {"Name", "Code", "VATNumber", "Status"} <= set(draft.to_payload())
    assert set(draft.update_payload()) <= w.writable("Accounts")
    assert {"Code", "Description", "IsSalesItem", "SalesVatCode"} <= w.writable("Items")
