"""WooCommerce customers and guests <-> Exact Accounts.

- Registered customers: stored link, then billing e-mail, then create (Account Code by the connection's
  code policy). Guests (customer_id 0): matched by billing e-mail or created, or all booked on one
  collective account, per `guest_policy`.
- Exact -> WooCommerce: the Account's name, address and contact data update the linked customer's
  billing data; the Account name becomes the company when the customer has one, else first and last name
  (split at the first space, which keeps Dutch infixes such as "de Vries" in the last name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ml_connector.flows.accounts import (
    AccountDraft,
    AccountMatch,
    ExactAccountRef,
    MasterData,
    MatchAction,
    master_data_from_account,
    match_account,
)
from ml_connector.flows.problems import MappingError, Problem
from ml_connector.flows.woocommerce.settings import WooExactSettings
from ml_connector.flows.woocommerce.vat_numbers import customer_vat_number, order_vat_number
from ml_connector.woocommerce.models import Address, Customer, Order


def _name(address: Address, first_name: str = "", last_name: str = "") -> str:
    if address.company.strip():
        return address.company
    person = f"{address.first_name} {address.last_name}".strip()
    return person or f"{first_name} {last_name}".strip()


def _master_data(address: Address, name: str, email: str | None) -> MasterData:
    return MasterData.of(
        name=name,
        email=email,
        phone=address.phone,
        address_line1=address.address_1,
        address_line2=address.address_2,
        postcode=address.postcode,
        city=address.city,
        state=address.state,
        country=address.country,
    )


def master_data_from_customer(customer: Customer) -> MasterData:
    billing = customer.billing
    return _master_data(
        billing, _name(billing, customer.first_name, customer.last_name), billing.email or customer.email
    )


def master_data_from_order(order: Order) -> MasterData:
    """The buyer as the order's billing address describes them (the only record of a guest)."""
    return _master_data(order.billing, _name(order.billing), order.billing.email)


def account_for_customer(customer: Customer, settings: WooExactSettings) -> AccountDraft:
    return AccountDraft(
        master_data_from_customer(customer),
        settings.account_code.code_for(customer.id),
        customer_vat_number(customer),
    )


def account_for_order(order: Order, settings: WooExactSettings) -> AccountDraft:
    """The Account to create for an order's buyer (registered customers keep their code policy)."""
    return AccountDraft(
        master_data_from_order(order),
        settings.account_code.code_for(order.customer_id),
        order_vat_number(order),
    )


def order_account_decision(
    order: Order,
    settings: WooExactSettings,
    *,
    linked_account_id: str | None,
    candidates: Sequence[ExactAccountRef],
) -> AccountMatch:
    """Which Exact Account an order is invoiced to. `linked_account_id` is the stored link of the registered
    customer (None for guests and unlinked customers); `candidates` are Exact accounts with the billing
    e-mail (from the cache or an e-mail query)."""
    email = order.billing.email
    if order.is_guest:
        if settings.guest_policy == "collective_account":
            return AccountMatch(
                MatchAction.COLLECTIVE, settings.guest_account_id, "guest: collective account"
            )
        if not (email or "").strip():
            raise MappingError(
                [
                    Problem(
                        f"WooCommerce order {order.id}",
                        "billing",
                        "guest order without a billing e-mail",
                        "add the e-mail to the order, or set guest_policy to collective_account with "
                        "guest_account_id",
                        kind="customer",
                    )
                ]
            )
    return match_account(linked_account_id=linked_account_id, email=email, candidates=candidates)


def customer_email(customer: Customer) -> str | None:
    """The e-mail a customer's Account is matched on: the billing e-mail (what the invoices carry), else
    the login e-mail."""
    return customer.billing.email or customer.email


def customer_update_payload(account: Mapping[str, Any], customer: Customer) -> dict[str, Any]:
    """PUT /customers/{id} body that makes the customer's master data equal the Exact Account's, so that
    `master_data_from_customer` of the updated customer hashes the same (no ping-pong)."""
    data = master_data_from_account(account)
    billing: dict[str, Any] = {
        "address_1": data.address_line1,
        "address_2": data.address_line2,
        "postcode": data.postcode,
        "city": data.city,
        "state": data.state,
        "country": data.country,
        "phone": data.phone,
    }
    if data.email:
        billing["email"] = data.email
    payload: dict[str, Any] = {"billing": billing}
    if customer.billing.company.strip():
        billing["company"] = data.name
    else:
        first, _, last = data.name.partition(" ")
        billing.update(first_name=first, last_name=last)
    return payload
