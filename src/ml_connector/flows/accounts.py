"""Customers <-> Exact Accounts, shop-neutral: master data, Account drafts, the match policy and the
two-way sync decision without ping-pong.

Matching (issue 7): the stored link first, then the e-mail address, then create. Never key debtors on a
shop customer id alone (woocommerce.md §3.3). Exact is the source of truth for master data: when both
sides changed since the last sync, Exact wins and the decision says so for the audit. A change we wrote
is recognised when it echoes back because the link keeps the hash of the master data last written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ml_connector.flows.fingerprint import content_hash

ACCOUNT_CODE_LENGTH = 18  # crm/Accounts.Code: fixed-length numeric string (exact-online.md §3.5)
CUSTOMER_STATUS = "C"


@dataclass(frozen=True, slots=True)
class MasterData:
    """The customer fields both systems hold, normalised so that both sides compare equal."""

    name: str
    email: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    city: str = ""
    state: str = ""
    country: str = ""

    @classmethod
    def of(cls, **fields: str | None) -> MasterData:
        clean = {key: (value or "").strip() for key, value in fields.items()}
        clean["email"] = clean.get("email", "").lower()
        clean["country"] = clean.get("country", "").upper()
        return cls(**clean)

    def fingerprint(self) -> str:
        return content_hash(asdict(self))


def master_data_from_account(record: Mapping[str, Any]) -> MasterData:
    """An Exact crm/Accounts record (padded Country "NL " included) as master data."""
    return MasterData.of(
        name=record.get("Name"),
        email=record.get("Email"),
        phone=record.get("Phone"),
        address_line1=record.get("AddressLine1"),
        address_line2=record.get("AddressLine2"),
        postcode=record.get("Postcode"),
        city=record.get("City"),
        state=record.get("State"),
        country=record.get("Country"),
    )


@dataclass(frozen=True, slots=True)
class AccountDraft:
    """A crm/Accounts payload: Name is mandatory; Status C makes it a customer."""

    data: MasterData
    code: str | None = None
    vat_number: str | None = None

    def to_payload(self) -> dict[str, Any]:
        """POST body: empty fields are left out so Exact keeps its defaults."""
        values = {
            "Name": self.data.name,
            "Code": self.code,
            "Email": self.data.email,
            "Phone": self.data.phone,
            "AddressLine1": self.data.address_line1,
            "AddressLine2": self.data.address_line2,
            "Postcode": self.data.postcode,
            "City": self.data.city,
            "State": self.data.state,
            "Country": self.data.country,
            "VATNumber": self.vat_number,
            "Status": CUSTOMER_STATUS,
        }
        return {key: value for key, value in values.items() if value}

    def update_payload(self) -> dict[str, Any]:
        """PUT body with the master-data fields only; empty values are sent to clear them in Exact."""
        return {
            "Name": self.data.name,
            "Email": self.data.email,
            "Phone": self.data.phone,
            "AddressLine1": self.data.address_line1,
            "AddressLine2": self.data.address_line2,
            "Postcode": self.data.postcode,
            "City": self.data.city,
            "State": self.data.state,
            "Country": self.data.country,
        }


class AccountCodePolicy(BaseModel):
    """How new Accounts get their Code: Exact's next number, or a numeric prefix + the shop customer id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["exact", "prefix_id"] = Field(
        default="exact",
        description='"exact" (Exact assigns the next code) or "prefix_id" (prefix + customer id)',
    )
    prefix: str = Field(
        default="",
        pattern=r"^\d{0,8}$",
        description="digits put before the customer id (Exact codes are numeric)",
    )

    def code_for(self, customer_id: int | None) -> str | None:
        """The Code to send, or None to let Exact assign one (always for guests: they have no id)."""
        if self.mode == "exact" or not customer_id:
            return None
        code = f"{self.prefix}{customer_id}"
        if len(code) > ACCOUNT_CODE_LENGTH:
            raise ValueError(
                f"account code {code} is longer than {ACCOUNT_CODE_LENGTH} digits: shorten the prefix"
            )
        return code


@dataclass(frozen=True, slots=True)
class ExactAccountRef:
    """An Exact Account as far as matching needs it (from the cache or an e-mail query)."""

    id: str
    code: str = ""
    email: str = ""
    status: str = CUSTOMER_STATUS
    blocked: bool = False


class MatchAction(StrEnum):
    LINKED = "linked"  # the stored link
    MATCHED = "matched"  # found by e-mail: store the link
    CREATE = "create"  # create the Account, then store the link
    COLLECTIVE = "collective"  # a configured account for all guests


@dataclass(frozen=True, slots=True)
class AccountMatch:
    action: MatchAction
    account_id: str | None
    reason: str


def match_account(
    *, linked_account_id: str | None, email: str | None, candidates: Sequence[ExactAccountRef]
) -> AccountMatch:
    """Stored link, then e-mail (customers before other relations, then the lowest code), then create."""
    if linked_account_id:
        return AccountMatch(MatchAction.LINKED, linked_account_id, "stored link")
    wanted = (email or "").strip().lower()
    if wanted:
        same = [ref for ref in candidates if ref.email.strip().lower() == wanted and not ref.blocked]
        if same:
            same.sort(
                key=lambda ref: (ref.status != CUSTOMER_STATUS, ref.code.strip().zfill(ACCOUNT_CODE_LENGTH))
            )
            note = f" (first of {len(same)} accounts with this e-mail)" if len(same) > 1 else ""
            return AccountMatch(MatchAction.MATCHED, same[0].id, f"matched by e-mail {wanted}{note}")
        return AccountMatch(MatchAction.CREATE, None, f"no Exact account with e-mail {wanted}")
    return AccountMatch(MatchAction.CREATE, None, "no e-mail to match on")


class SyncAction(StrEnum):
    IN_SYNC = "in_sync"  # nothing to write (also: our own write echoing back)
    UPDATE_EXACT = "update_exact"
    UPDATE_SHOP = "update_shop"


@dataclass(frozen=True, slots=True)
class SyncDecision:
    action: SyncAction
    winner: Literal["exact", "shop"] | None
    conflict: bool
    reason: str
    link_hash: str  # store in the link after the write (or now, when in sync)


def decide_master_data_sync(link_hash: str | None, shop: MasterData, exact: MasterData) -> SyncDecision:
    """Which side to write, given the hash stored in the link at the last sync."""
    shop_hash, exact_hash = shop.fingerprint(), exact.fingerprint()
    if shop_hash == exact_hash:
        reason = "our own write echoed back" if link_hash == shop_hash else "both sides hold the same data"
        return SyncDecision(SyncAction.IN_SYNC, None, False, reason, shop_hash)
    shop_changed = shop_hash != link_hash
    exact_changed = exact_hash != link_hash
    if link_hash is None:
        return SyncDecision(
            SyncAction.UPDATE_SHOP,
            "exact",
            True,
            "first sync of this link: Exact is the source of truth",
            exact_hash,
        )
    if shop_changed and not exact_changed:
        return SyncDecision(SyncAction.UPDATE_EXACT, "shop", False, "changed in the shop only", shop_hash)
    if exact_changed and not shop_changed:
        return SyncDecision(SyncAction.UPDATE_SHOP, "exact", False, "changed in Exact only", exact_hash)
    return SyncDecision(
        SyncAction.UPDATE_SHOP,
        "exact",
        True,
        "changed on both sides: Exact wins (source of truth)",
        exact_hash,
    )
