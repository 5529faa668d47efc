"""The one place that says where our deterministic external reference lives in each Exact entity.

Exact has no idempotency key (exact-online.md §5.3), so every write carries a reference we derive
from the source record, in a field that is writable and filterable, and the engine looks it up
before a create and after any ambiguous outcome: `$filter=<field> eq '<ref>'&$select=<key>`.

Field facts (exact-entities.json, Pi-Systems reference pages):
- SalesInvoices / SalesOrders / SalesEntries: `YourRef` (Edm.String, GET POST PUT; "the invoice/reference
  number of the customer"). No length is published in our sources.
- Accounts: `Code` (Edm.String, GET POST PUT, unique per division, "fixed length numeric string with
  leading spaces, length 18"): the only field with a documented length. Exact stores it right-aligned,
  so we write and filter the padded value. `SearchCode` has no documented length and is not unique, so
  it is not used. A reference longer than 18 characters cannot be an account code.
- Items: `Code` (mandatory, unique; no published length).
- GeneralJournalEntries: the header has no free-text field at all (no YourRef, no Description; no PUT),
  so the reference goes into every line's `Description` and is found through
  `GeneralJournalEntryLines?$filter=Description eq '<ref>'&$select=EntryID`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ml_connector.exact import odata
from ml_connector.exact.entities import entity_set


@dataclass(frozen=True)
class RefField:
    entity: str  # the entity set that is written
    field: str  # the property that carries the reference
    placement: Literal["header", "lines"]
    lookup_entity: str  # the collection filtered to find it
    lookup_key: str  # the property of the lookup row that is the written entity's id
    length: int | None = None  # documented length, if any
    right_aligned: bool = False  # Exact pads the stored value with leading spaces to `length`
    lines_field: str | None = None  # the embedded line collection, for placement "lines"

    def stored_value(self, ref: str) -> str:
        """The value as Exact stores it (and as a filter must match it)."""
        if not ref or ref != ref.strip():
            raise ValueError(f"external reference {ref!r} is empty or has surrounding spaces")
        if self.length is not None and len(ref) > self.length:
            raise ValueError(
                f"external reference '{ref}' is {len(ref)} characters; Exact's {self.entity}.{self.field} "
                f"holds at most {self.length}: shorten the reference format"
            )
        return ref.rjust(self.length) if self.right_aligned and self.length else ref

    def lookup_filter(self, ref: str) -> str:
        return odata.eq(self.field, self.stored_value(ref))

    def apply(self, payload: dict[str, Any], ref: str) -> dict[str, Any]:
        """A copy of `payload` with the reference in its place (the header field, or every line)."""
        value = self.stored_value(ref)
        if self.placement == "header":
            return {**payload, self.field: value}
        assert self.lines_field is not None
        lines = payload.get(self.lines_field)
        if not lines:
            raise ValueError(
                f"{self.entity} payload has no {self.lines_field} to carry the external reference"
            )
        return {**payload, self.lines_field: [{**line, self.field: value} for line in lines]}


def _header(entity: str, field: str = "YourRef", **kwargs: Any) -> RefField:
    return RefField(entity, field, "header", entity, entity_set(entity).key, **kwargs)


REF_FIELDS: dict[str, RefField] = {
    "SalesInvoices": _header("SalesInvoices"),
    "SalesOrders": _header("SalesOrders"),
    "SalesEntries": _header("SalesEntries"),
    "Accounts": _header("Accounts", "Code", length=18, right_aligned=True),
    "Items": _header("Items", "Code"),
    "GeneralJournalEntries": RefField(
        "GeneralJournalEntries",
        "Description",
        "lines",
        "GeneralJournalEntryLines",
        "EntryID",
        lines_field="GeneralJournalEntryLines",
    ),
}


def ref_field(entity: str) -> RefField:
    try:
        return REF_FIELDS[entity]
    except KeyError:
        raise ValueError(
            f"Exact entity '{entity}' has no external-reference field; known: {', '.join(sorted(REF_FIELDS))}"
        ) from None
