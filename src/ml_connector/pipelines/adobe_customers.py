"""Adobe Commerce customers and guests <-> Exact Accounts: the Adobe half of `flows.accounts`.

- An order's buyer is its billing address (a guest's only record); a registered customer is their
  default billing address (else the first), the account e-mail and the address's VAT id (or `taxvat`).
- Exact -> Adobe: the Account's name, address and phone become the customer's default billing address
  (`PUT /V1/customers/{id}`); the Account name is the company when the address has one, else first and
  last name split at the first space (Dutch infixes such as "de Vries" stay in the last name). The
  payload makes `master_data_from_customer` of the updated customer hash equal to the Account's, so our
  own write echoing back is recognised (no ping-pong).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ml_connector.adobe_commerce.models import Address, Customer, CustomerAddress, CustomerRegion, Order
from ml_connector.flows.accounts import AccountDraft, MasterData, master_data_from_account


def _person(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def _street(lines: list[str], index: int) -> str:
    return lines[index] if len(lines) > index else ""


def master_data_from_order(order: Order) -> MasterData:
    billing = order.billing_address or Address()
    name = (billing.company or "").strip() or _person(billing.firstname, billing.lastname)
    return MasterData.of(
        name=name or _person(order.customer_firstname, order.customer_lastname) or order.customer_email,
        email=order.customer_email,
        phone=billing.telephone,
        address_line1=_street(billing.street, 0),
        address_line2=_street(billing.street, 1),
        postcode=billing.postcode,
        city=billing.city,
        state=billing.region_code or billing.region,
        country=billing.country_id,
    )


def billing_address(customer: Customer) -> CustomerAddress:
    """The default billing address; a customer without addresses gets an empty one."""
    for address in customer.addresses:
        if address.default_billing:
            return address
    return customer.addresses[0] if customer.addresses else CustomerAddress()


def master_data_from_customer(customer: Customer) -> MasterData:
    address = billing_address(customer)
    region = address.region or CustomerRegion()
    name = (address.company or "").strip() or _person(address.firstname, address.lastname)
    return MasterData.of(
        name=name or _person(customer.firstname, customer.lastname) or customer.email,
        email=customer.email,
        phone=address.telephone,
        address_line1=_street(address.street, 0),
        address_line2=_street(address.street, 1),
        postcode=address.postcode,
        city=address.city,
        state=region.region_code or region.region,
        country=address.country_id,
    )


def account_for_order(order: Order, code: str) -> AccountDraft:
    billing = order.billing_address or Address()
    return AccountDraft(master_data_from_order(order), code, billing.vat_id or order.customer_taxvat)


def account_for_customer(customer: Customer, code: str) -> AccountDraft:
    return AccountDraft(
        master_data_from_customer(customer), code, billing_address(customer).vat_id or customer.taxvat
    )


def customer_update_payload(
    account: Mapping[str, Any], customer: Customer, raw: Mapping[str, Any]
) -> dict[str, Any]:
    """`PUT /V1/customers/{id}` body: the customer as Magento sent it (`raw`, so that nothing we do not
    manage is lost) with the default billing address set to the Exact Account's master data."""
    data = master_data_from_account(account)
    target = billing_address(customer)
    addresses = [dict(a) for a in raw.get("addresses") or []]
    index = next((i for i, a in enumerate(addresses) if a.get("id") == target.id and target.id), None)
    address = dict(addresses[index]) if index is not None else {"default_billing": True}
    street = [line for line in (data.address_line1, data.address_line2) if line]
    address.update(street=street, postcode=data.postcode, city=data.city, country_id=data.country)
    address["telephone"] = data.phone
    if (target.company or "").strip():
        address["company"] = data.name
    else:
        first, _, last = data.name.partition(" ")
        address.update(firstname=first, lastname=last)
    if index is None:
        addresses.append(address)
    else:
        addresses[index] = address
    customer_body = {k: v for k, v in raw.items() if k not in ("addresses", "updated_at", "created_at")}
    customer_body["addresses"] = addresses
    if data.email:
        customer_body["email"] = data.email
    return {"customer": customer_body}
