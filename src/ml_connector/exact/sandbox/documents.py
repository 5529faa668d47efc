"""What Exact fills in, checks and refuses on each write (exact-online.md §5).

`Books` works on one division for one actor and runs with the sandbox lock held. A create checks
Exact's mandatory fields and every reference (accounts, items, GL accounts, VAT codes, journals, cost
centers and units, payment conditions), derives the read-only fields (names, descriptions, amounts,
numbers) and records the changes to notify over webhooks. Processing an invoice (PrintedSalesInvoices)
and posting a SalesEntry or GeneralJournalEntry book their financial entry through `ledger.book`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .amounts import money, number
from .formats import ExactError, bad_request, date_ms, exact_date
from .ledger import Entry, book
from .records import Actor, blank_row, parse_body, stamp_created, stamp_modified
from .schema import DELETED_ENTITY_TYPES, LINE_PARENT, LINES, EntitySpec, entities
from .store import DeletedRecord, Division

ACCOUNT_CODE_WIDTH = 18
SALES_JOURNAL_TYPES = {20, 21}
INVOICE_TYPES = {
    8020: "Normal",
    8021: "Credit note",
    8023: "Direct sales invoice",
    8024: "Direct credit note",
}
GL_TYPES = {
    10: "Cash",
    12: "Bank",
    20: "Accounts receivable",
    22: "Accounts payable",
    24: "VAT",
    110: "Revenue",
    111: "Cost of goods",
    120: "Other costs",
    90: "General",
}
PROFIT_AND_LOSS_TYPES = {110, 111, 120}


def pad(code: str, width: int) -> str:
    """Exact pads many codes with trailing spaces to the column width ("02 ", "NL ")."""
    return code.strip().ljust(width)


@dataclass(frozen=True)
class Change:
    entity: str  # entity set of the changed record (its topic decides who is notified)
    key: str
    action: str  # "Update" (also for creates) or "Delete"


def vat_field_of(lines_entity: str) -> str:
    """Each line entity names its VAT amount differently."""
    return {"SalesOrderLines": "VATAmount", "GeneralJournalEntryLines": "AmountVATFC"}.get(
        lines_entity, "VATAmountFC"
    )


def topic_of(entity: str) -> str | None:
    header = LINE_PARENT.get(entity, entity)
    return entities()[header].webhook_topic


class Books:
    def __init__(self, division: Division, actor: Actor) -> None:
        self.division = division
        self.actor = actor
        self.changes: list[Change] = []

    # ------------------------------------------------------------------ generic

    def spec(self, entity: str) -> EntitySpec:
        return entities()[entity]

    def get(self, entity: str, key: str) -> dict[str, Any]:
        row = self.division.table(entity).get(key)
        if row is None:
            raise ExactError(404, f"{entity}: no record with key {key} in division {self.division.number}.")
        return row

    def ref(self, entity: str, key: Any, prop: str) -> dict[str, Any]:
        row = self.division.table(entity).get(str(key))
        if row is None:
            raise bad_request(f"{prop}: {entity} {key} does not exist in division {self.division.number}.")
        return row

    def by_code(self, entity: str, code: Any, prop: str) -> dict[str, Any]:
        keys = self.division.table(entity).lookup("Code", code)
        if not keys:
            raise bad_request(f"{prop}: {entity} with code '{str(code).strip()}' does not exist.")
        row = self.division.table(entity).get(next(iter(keys)))
        assert row is not None
        if row.get("IsBlocked"):
            raise bad_request(f"{prop}: {entity} '{str(code).strip()}' is blocked.")
        return row

    def _unique_code(self, entity: str, code: str, existing: dict[str, Any] | None) -> None:
        keys = self.division.table(entity).lookup("Code", code) or set()
        if existing is not None:
            keys = keys - {str(existing["ID"])}
        if keys:
            raise bad_request(f"Code: {entity} with code '{code.strip()}' already exists.")

    def store(self, entity: str, row: dict[str, Any]) -> None:
        """Save a created or changed row under a new Timestamp; subscribers hear "Update"."""
        self.division.table(entity).put(row, self.division.next_timestamp())
        if topic_of(entity):
            self.changes.append(
                Change(LINE_PARENT.get(entity, entity), self._topic_key(entity, row), "Update")
            )

    def _topic_key(self, entity: str, row: dict[str, Any]) -> str:
        if entity in LINE_PARENT:
            return str(row[LINES[LINE_PARENT[entity]][2]])
        return str(row[self.spec(entity).key])

    def new_row(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        spec = self.spec(entity)
        row = blank_row(spec, self.division.number)
        row.update({k: v for k, v in values.items() if k in row})
        key = values.get(spec.key)
        if key is not None and self.division.table(entity).get(str(key)) is not None:
            raise bad_request(f"{spec.key}: a record with key {key} already exists.")
        row[spec.key] = key or str(uuid.uuid4())
        stamp_created(row, self.actor)
        return row

    def _mandatory(self, entity: str, values: dict[str, Any], optional: tuple[str, ...] = ()) -> None:
        for name in self.spec(entity).mandatory_on_post:
            if name not in optional and values.get(name) in (None, "", []):
                raise bad_request(f"Mandatory field missing: {name} ({entity}).")

    def today(self) -> str:
        day = datetime.fromtimestamp(date_ms(exact_date(self.actor.now)) / 1000, UTC)  # type: ignore[operator]
        return f"/Date({int(day.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)})/"

    # ------------------------------------------------------------------ entry points

    def create(self, entity: str, body: Any) -> dict[str, Any]:
        spec = self.spec(entity)
        values = parse_body(spec, body, "POST")
        if entity in LINE_PARENT:
            return self._create_line(entity, body, values)
        handler = getattr(self, f"_create_{entity.lower()}", None)
        if handler is not None:
            row: dict[str, Any] = handler(values)
            return row
        self._mandatory(entity, values)
        row = self.new_row(entity, values)
        self._fill(entity, row)
        self.store(entity, row)
        return row

    def update(self, entity: str, key: str, body: Any) -> None:
        spec = self.spec(entity)
        if "PUT" not in spec.methods:
            raise ExactError(
                405, f"{entity} cannot be updated (PUT is not supported by Exact for this entity)."
            )
        row = self.get(entity, key)
        values = parse_body(spec, body, "PUT")
        if spec.key in values and str(values[spec.key]).lower() != str(row[spec.key]).lower():
            raise bad_request(f"{spec.key} cannot be changed.")
        check = getattr(self, f"_check_update_{entity.lower()}", None)
        if check is not None:
            check(row, values)
        updated = {**row, **values}
        for name in ("Name", "Description", "Code"):
            if name in spec.mandatory_on_post and updated.get(name) in (None, ""):
                raise bad_request(f"Mandatory field missing: {name} ({entity}).")
        stamp_modified(updated, self.actor)
        self._fill(entity, updated, existing=row)
        if entity in LINE_PARENT:
            self._refresh_line(entity, updated, values)
        self.store(entity, updated)
        if entity in LINE_PARENT:
            self._recalculate(LINE_PARENT[entity], str(updated[LINES[LINE_PARENT[entity]][2]]))
        elif entity in LINES:
            self._touch_lines(entity, str(updated[spec.key]))

    def delete(self, entity: str, key: str) -> None:
        spec = self.spec(entity)
        if "DELETE" not in spec.methods:
            raise ExactError(
                405, f"{entity} cannot be deleted (DELETE is not supported by Exact for this entity)."
            )
        row = self.get(entity, key)
        check = getattr(self, f"_check_delete_{entity.lower()}", None)
        if check is not None:
            check(row)
        if entity in LINES:
            lines_entity, _, foreign_key = LINES[entity]
            table = self.division.table(lines_entity)
            for line_key in list(table.lookup(foreign_key, key) or ()):
                self._remove(lines_entity, line_key)
        self._remove(entity, key)
        if entity in LINE_PARENT:
            self._recalculate(LINE_PARENT[entity], str(row[LINES[LINE_PARENT[entity]][2]]))

    def _remove(self, entity: str, key: str) -> None:
        row = self.division.table(entity).remove(key)
        if row is None:
            return
        entity_type = DELETED_ENTITY_TYPES.get(entity)
        if entity_type is not None:
            stamp = self.division.next_timestamp()
            deleted = {
                "Timestamp": stamp,
                "ID": str(uuid.uuid4()),
                "EntityKey": str(row[self.spec(entity).key]),
                "EntityType": entity_type,
                "DeletedBy": self.actor.user_id,
                "DeletedDate": exact_date(self.actor.now),
                "Division": self.division.number,
            }
            self.division.deleted.append(DeletedRecord(stamp, deleted, self.actor.now))
        if topic_of(entity) and entity not in LINE_PARENT:
            self.changes.append(Change(entity, str(row[self.spec(entity).key]), "Delete"))

    # ------------------------------------------------------------------ derived fields per entity

    def _fill(self, entity: str, row: dict[str, Any], existing: dict[str, Any] | None = None) -> None:
        filler = getattr(self, f"_fill_{entity.lower()}", None)
        if filler is not None:
            filler(row, existing)

    def _fill_accounts(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        code = row.get("Code")
        if code is None or not str(code).strip():
            code = str(self.division.next_number("AccountCode"))
        elif str(code).strip().isdigit():
            self.division.saw_number("AccountCode", int(str(code).strip()))
        row["Code"] = str(code).strip().rjust(ACCOUNT_CODE_WIDTH)
        self._unique_code("Accounts", row["Code"], existing)
        if row.get("Name") in (None, ""):
            raise bad_request("Mandatory field missing: Name (Accounts).")
        row["Status"] = row.get("Status") or "A"
        row["IsSales"] = row["Status"] == "C"
        row["Type"] = "A"
        for name, width in (("Country", 3), ("State", 3), ("Language", 10)):
            if row.get(name):
                row[name] = pad(str(row[name]).upper() if name != "Language" else str(row[name]), width)
        if row.get("PaymentConditionSales"):
            condition = self.by_code(
                "PaymentConditions", row["PaymentConditionSales"], "PaymentConditionSales"
            )
            row["PaymentConditionSalesDescription"] = condition["Description"]
        if row.get("SalesVATCode"):
            vat = self.by_code("VATCodes", row["SalesVATCode"], "SalesVATCode")
            row["SalesVATCode"] = vat["Code"]
            row["SalesVATCodeDescription"] = vat["Description"]

    def _fill_contacts(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        account = self.ref("Accounts", row["Account"], "Account")
        row["AccountName"] = account["Name"]
        row["FullName"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)

    def _create_contacts(self, values: dict[str, Any]) -> dict[str, Any]:
        if not values.get("Account"):
            raise bad_request("Mandatory field missing: Account (Contacts).")
        if not values.get("FirstName") and not values.get("LastName"):
            raise bad_request("Mandatory field missing: provide at least FirstName or LastName (Contacts).")
        row = self.new_row("Contacts", values)
        self._fill_contacts(row, None)
        account = self.division.table("Accounts").get(row["Account"])
        if account is not None and account.get("MainContact") is None:
            row["IsMainContact"] = True
            self.division.table("Accounts").put(
                {**account, "MainContact": row["ID"]}, self.division.next_timestamp()
            )
        self.store("Contacts", row)
        return row

    def _fill_items(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        self._unique_code("Items", row["Code"], existing)
        if row.get("SalesVatCode"):
            vat = self.by_code("VATCodes", row["SalesVatCode"], "SalesVatCode")
            row["SalesVatCode"] = vat["Code"]
            row["SalesVatCodeDescription"] = vat["Description"]
        if row.get("GLRevenue"):
            gl = self.ref("GLAccounts", row["GLRevenue"], "GLRevenue")
            row["GLRevenueCode"], row["GLRevenueDescription"] = gl["Code"], gl["Description"]
        if row.get("GLCosts"):
            gl = self.ref("GLAccounts", row["GLCosts"], "GLCosts")
            row["GLCostsCode"], row["GLCostsDescription"] = gl["Code"], gl["Description"]
        if existing is None and row.get("IsSalesItem") is False:
            row["IsSalesItem"] = True  # Exact's default for a new item
        row["Unit"] = pad(row.get("Unit") or "pc", 8)

    def _fill_glaccounts(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        self._unique_code("GLAccounts", row["Code"], existing)
        gl_type = row.get("Type") or 110
        row["Type"] = gl_type
        row["TypeDescription"] = GL_TYPES.get(gl_type, "Other")
        row["BalanceType"] = row.get("BalanceType") or ("W" if gl_type in PROFIT_AND_LOSS_TYPES else "B")
        row["BalanceSide"] = row.get("BalanceSide") or ("C" if gl_type in (22, 24, 110) else "D")
        if row.get("VATCode"):
            vat = self.by_code("VATCodes", row["VATCode"], "VATCode")
            row["VATCode"], row["VATDescription"] = vat["Code"], vat["Description"]

    def _fill_costcenters(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        self._unique_code("CostCenters", row["Code"], existing)

    def _fill_costunits(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        self._unique_code("CostUnits", row["Code"], existing)

    def _fill_vatcodes(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        row["Code"] = pad(row["Code"], 3)
        self._unique_code("VATCodes", row["Code"], existing)
        row["Type"] = row.get("Type") or "E"
        row["Percentage"] = row.get("Percentage") or 0
        if row.get("GLToPay"):
            gl = self.ref("GLAccounts", row["GLToPay"], "GLToPay")
            row["GLToPayCode"], row["GLToPayDescription"] = gl["Code"], gl["Description"]

    def _fill_journals(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if not row.get("Code"):
            raise bad_request("Mandatory field missing: Code (Journals).")
        self._unique_code("Journals", row["Code"], existing)

    def _fill_paymentconditions(self, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
        self._unique_code("PaymentConditions", row["Code"], existing)
        row["PaymentDays"] = row.get("PaymentDays") or 0

    def _check_delete_accounts(self, row: dict[str, Any]) -> None:
        for entity, prop in (("SalesInvoices", "OrderedBy"), ("SalesOrders", "OrderedBy")):
            if self.division.table(entity).lookup(prop, row["ID"]):
                raise bad_request(f"Account {row['Code'].strip()} is used in {entity} and cannot be deleted.")

    # ------------------------------------------------------------------ sales documents

    def _customer(self, key: Any, prop: str) -> dict[str, Any]:
        account = self.ref("Accounts", key, prop)
        if account.get("Blocked"):
            raise bad_request(f"{prop}: account {account['Code'].strip()} is blocked.")
        return account

    def _sales_journal(self, code: Any) -> dict[str, Any]:
        if code:
            journal = self.by_code("Journals", code, "Journal")
            if journal.get("Type") not in SALES_JOURNAL_TYPES:
                raise bad_request(f"Journal: '{journal['Code']}' is not a sales journal.")
            return journal
        for journal in self.division.table("Journals").values():  # the division's default sales journal
            if journal.get("Type") == 20 and not journal.get("IsBlocked"):
                return journal
        raise bad_request("Mandatory field missing: Journal (no default sales journal in this division).")

    def _header_parties(self, row: dict[str, Any]) -> None:
        ordered_by = self._customer(row["OrderedBy"], "OrderedBy")
        row["OrderedByName"] = ordered_by["Name"]
        for prop in ("InvoiceTo", "DeliverTo"):
            if prop in row:
                party = self._customer(row.get(prop) or row["OrderedBy"], prop)
                row[prop] = party["ID"]
                row[f"{prop}Name"] = party["Name"]
        condition_code = row.get("PaymentCondition") or ordered_by.get("PaymentConditionSales")
        if condition_code:
            condition = self.by_code("PaymentConditions", condition_code, "PaymentCondition")
            row["PaymentCondition"] = condition["Code"]
            row["PaymentConditionDescription"] = condition["Description"]
        row["Currency"] = row.get("Currency") or "EUR"

    def _line_amounts(self, line: dict[str, Any], vat: dict[str, Any] | None, vat_field: str) -> None:
        """Line amount excluding VAT and its VAT: from AmountFC when sent, else Quantity x NetPrice."""
        quantity = Decimal(str(line.get("Quantity") if line.get("Quantity") is not None else 1))
        priced = "NetPrice" in line  # document lines have prices; entry lines only amounts
        if priced:
            if line.get("NetPrice") is None:
                discount = Decimal(str(line.get("Discount") or 0))
                line["NetPrice"] = number(money(Decimal(str(line.get("UnitPrice") or 0)) * (1 - discount)))
            if line.get("UnitPrice") is None:
                line["UnitPrice"] = line["NetPrice"]
        line["Quantity"] = number(quantity)
        percentage = Decimal(str(vat["Percentage"])) if vat else Decimal(0)
        if line.get("AmountFC") is not None:
            gross = money(line["AmountFC"])
        else:
            gross = money(quantity * Decimal(str(line.get("NetPrice") or 0)))
        if priced and vat and vat.get("Type") == "I" and line.get("AmountFC") is None:  # prices include VAT
            vat_amount = money(gross * percentage / (1 + percentage))
            amount = gross - vat_amount
        else:
            amount = gross
            vat_amount = money(amount * percentage)
        if line.get(vat_field) is not None:
            vat_amount = money(line[vat_field])
        line["AmountFC"] = number(amount)
        if "AmountDC" in line:
            line["AmountDC"] = number(amount)
        line[vat_field] = number(vat_amount)
        if "VATAmountDC" in line:
            line["VATAmountDC"] = number(vat_amount)
        line["VATPercentage"] = number(percentage) if vat else 0

    def _document_line(
        self, entity: str, values: dict[str, Any], header: dict[str, Any], number_: int
    ) -> dict[str, Any]:
        line_values = parse_body(self.spec(entity), values, "POST")
        _, _, foreign_key = LINES[LINE_PARENT[entity]]
        line_values[foreign_key] = header[self.spec(LINE_PARENT[entity]).key]
        for name in self.spec(entity).mandatory_on_post:
            if name in ("GLAccount", "InvoiceID", "OrderID", "EntryID"):
                continue
            if line_values.get(name) in (None, ""):
                raise bad_request(f"Mandatory field missing: {name} ({entity}, line {number_}).")
        line = self.new_row(entity, line_values)
        line["LineNumber"] = number_
        item = self.ref("Items", line["Item"], f"Item (line {number_})") if line.get("Item") else None
        if item is not None:
            line["ItemDescription"] = item["Description"]
            if "ItemCode" in line:
                line["ItemCode"] = item["Code"]
            line["Description"] = line.get("Description") or item["Description"]
            if "UnitCode" in line:
                line["UnitCode"] = line.get("UnitCode") or (item.get("Unit") or "pc").strip()
        gl_key = line.get("GLAccount") or (item or {}).get("GLRevenue")
        if "GLAccount" in line:
            if not gl_key:
                raise bad_request(
                    f"Mandatory field missing: GLAccount ({entity}, line {number_}): "
                    "the item has no revenue account."
                )
            gl = self.ref("GLAccounts", gl_key, f"GLAccount (line {number_})")
            if gl.get("IsBlocked"):
                raise bad_request(f"GLAccount (line {number_}): GL account {gl['Code']} is blocked.")
            line["GLAccount"] = gl["ID"]
            line["GLAccountDescription"] = gl["Description"]
            if "GLAccountCode" in line:
                line["GLAccountCode"] = gl["Code"]
        vat_code = line.get("VATCode") or (item or {}).get("SalesVatCode")
        if not vat_code and gl_key and entity != "GeneralJournalEntryLines":  # VAT only when asked there
            vat_code = self.ref("GLAccounts", gl_key, "GLAccount").get("VATCode")
        vat = self.by_code("VATCodes", vat_code, f"VATCode (line {number_})") if vat_code else None
        if vat is not None:
            line["VATCode"], line["VATCodeDescription"] = vat["Code"], vat["Description"]
        for prop, master in (("CostCenter", "CostCenters"), ("CostUnit", "CostUnits")):
            if line.get(prop):
                found = self.by_code(master, line[prop], f"{prop} (line {number_})")
                line[prop], line[f"{prop}Description"] = found["Code"], found["Description"]
        self._line_amounts(line, vat, vat_field_of(entity))
        return line

    def _create_line(self, entity: str, body: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """A line posted on its own endpoint: added to its (still open) document, totals recalculated."""
        header_entity = LINE_PARENT[entity]
        foreign_key = LINES[header_entity][2]
        if not values.get(foreign_key):
            raise bad_request(f"Mandatory field missing: {foreign_key} ({entity}).")
        header = self.ref(header_entity, values[foreign_key], foreign_key)
        check = getattr(self, f"_check_update_{header_entity.lower()}", None)
        if check is not None:
            check(header, {})
        table = self.division.table(entity)
        header_key = str(header[self.spec(header_entity).key])
        siblings = [table.rows[k]["LineNumber"] for k in table.lookup(foreign_key, header_key) or ()]
        line = self._document_line(entity, body, header, max(siblings, default=0) + 1)
        self.store(entity, line)
        self._recalculate(header_entity, header_key)
        return line

    def _refresh_line(self, entity: str, line: dict[str, Any], values: dict[str, Any]) -> None:
        """Recompute a changed line's amounts (derived ones only; amounts the caller sent are kept)."""
        vat_field = vat_field_of(entity)
        for name in ("AmountFC", vat_field):
            if name in line and name not in values:
                line[name] = None
        if "NetPrice" not in values and ("UnitPrice" in values or "Discount" in values):
            line["NetPrice"] = None
        vat = self.by_code("VATCodes", line["VATCode"], "VATCode") if line.get("VATCode") else None
        if vat is not None:
            line["VATCodeDescription"] = vat["Description"]
        if "AmountFC" in line and ("NetPrice" in line or "AmountFC" in values):
            self._line_amounts(line, vat, vat_field)

    def _create_document(
        self, entity: str, values: dict[str, Any], optional: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        lines_entity, lines_prop, _ = LINES[entity]
        self._mandatory(entity, values, optional)
        posted_lines = values.pop(lines_prop)
        row = self.new_row(entity, values)
        lines = [
            self._document_line(lines_entity, line, row, n) if isinstance(line, dict) else self._bad_line(n)
            for n, line in enumerate(posted_lines, start=1)
        ]
        return row, lines

    def _bad_line(self, number_: int) -> dict[str, Any]:
        raise bad_request(f"Line {number_} must be a JSON object.")

    def _totals(
        self, row: dict[str, Any], lines: list[dict[str, Any]], vat_field: str = "VATAmountFC"
    ) -> None:
        amount = sum((money(line["AmountFC"]) for line in lines), Decimal(0))
        vat = sum((money(line.get(vat_field)) for line in lines), Decimal(0))
        for name, value in (
            ("AmountFCExclVat", amount),
            ("AmountFC", amount + vat),
            ("AmountDC", amount + vat),
            ("VATAmountFC", vat),
            ("VATAmountDC", vat),
        ):
            if name in row:
                row[name] = number(value)

    def _store_document(self, entity: str, row: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self.store(entity, row)
        for line in lines:
            self.store(LINES[entity][0], line)

    def _create_salesinvoices(self, values: dict[str, Any]) -> dict[str, Any]:
        row, lines = self._create_document("SalesInvoices", values, optional=("Journal",))
        journal = self._sales_journal(row.get("Journal"))
        row["Journal"], row["JournalDescription"] = journal["Code"], journal["Description"]
        self._header_parties(row)
        invoice_type = row.get("Type") or 8020
        if invoice_type not in INVOICE_TYPES:
            raise bad_request(f"Type: {invoice_type} is not a sales invoice type ({sorted(INVOICE_TYPES)}).")
        row["Type"], row["TypeDescription"] = invoice_type, INVOICE_TYPES[invoice_type]
        row["Status"], row["StatusDescription"] = 20, "Open"
        row["OrderDate"] = row.get("OrderDate") or self.today()
        row["InvoiceDate"] = row["OrderDate"]
        row["DueDate"] = row.get("DueDate") or self._due_date(row["InvoiceDate"], row.get("PaymentCondition"))
        self._order_number(row, "SalesInvoiceOrderNumber")
        self._totals(row, lines)
        self._store_document("SalesInvoices", row, lines)
        return row

    def _create_salesorders(self, values: dict[str, Any]) -> dict[str, Any]:
        row, lines = self._create_document("SalesOrders", values)
        self._header_parties(row)
        row["Status"], row["StatusDescription"] = 12, "Open"
        row["ApprovalStatus"] = row.get("ApprovalStatus") if row.get("ApprovalStatus") is not None else 1
        row["OrderDate"] = row.get("OrderDate") or self.today()
        row["DeliveryDate"] = row.get("DeliveryDate") or row["OrderDate"]
        self._order_number(row, "SalesOrderNumber")
        for line in lines:
            line["OrderNumber"] = row["OrderNumber"]
        self._totals(row, lines, vat_field_of("SalesOrderLines"))
        self._store_document("SalesOrders", row, lines)
        return row

    def _order_number(self, row: dict[str, Any], sequence: str) -> None:
        if row.get("OrderNumber"):
            self.division.saw_number(sequence, row["OrderNumber"])
        else:
            row["OrderNumber"] = self.division.next_number(sequence)

    def _due_date(self, invoice_date: str, condition_code: str | None) -> str:
        days = 0
        if condition_code:
            days = (
                self.by_code("PaymentConditions", condition_code, "PaymentCondition").get("PaymentDays") or 0
            )
        ms = (date_ms(invoice_date) or 0) + int(timedelta(days=days).total_seconds() * 1000)
        return f"/Date({ms})/"

    def _check_update_salesinvoices(self, row: dict[str, Any], values: dict[str, Any]) -> None:
        if row["Status"] == 50:
            raise bad_request(
                f"Sales invoice {row['InvoiceNumber']} is processed and can no longer be changed."
            )

    def _check_delete_salesinvoices(self, row: dict[str, Any]) -> None:
        if row["Status"] == 50:
            raise bad_request(f"Sales invoice {row['InvoiceNumber']} is processed and cannot be deleted.")

    def _check_update_salesorders(self, row: dict[str, Any], values: dict[str, Any]) -> None:
        for prop in ("InvoiceTo", "DeliverTo"):
            if prop in values and values[prop] != row[prop]:
                raise bad_request(f"{prop} cannot be changed after the sales order is created.")
        if row["Status"] == 21:
            raise bad_request(f"Sales order {row['OrderNumber']} is complete and can no longer be changed.")

    def _check_update_salesinvoicelines(self, row: dict[str, Any], values: dict[str, Any]) -> None:
        self._check_update_salesinvoices(self.get("SalesInvoices", row["InvoiceID"]), values)

    def _check_delete_salesinvoicelines(self, row: dict[str, Any]) -> None:
        self._check_update_salesinvoices(self.get("SalesInvoices", row["InvoiceID"]), {})

    def _check_delete_items(self, row: dict[str, Any]) -> None:
        for lines in ("SalesInvoiceLines", "SalesOrderLines"):  # rare: a scan is fine
            if any(line.get("Item") == row["ID"] for line in self.division.table(lines).values()):
                raise bad_request(f"Item {row['Code']} is used in {lines} and cannot be deleted.")

    def _recalculate(self, header_entity: str, key: str) -> None:
        header = self.division.table(header_entity).get(key)
        if header is None:
            return
        lines_entity, _, foreign_key = LINES[header_entity]
        table = self.division.table(lines_entity)
        lines = [table.rows[k] for k in table.lookup(foreign_key, key) or ()]
        self._totals(header, lines, vat_field_of(lines_entity))
        stamp_modified(header, self.actor)
        self.store(header_entity, dict(header))

    def _touch_lines(self, header_entity: str, key: str) -> None:
        """Sync streams carry header and lines together: a header change bumps its lines too."""
        lines_entity, _, foreign_key = LINES[header_entity]
        table = self.division.table(lines_entity)
        for line_key in sorted(table.lookup(foreign_key, key) or ()):
            table.touch(line_key, self.division.next_timestamp())

    # ------------------------------------------------------------------ bookings (financial entries)

    def process_invoice(self, body: Any) -> dict[str, Any]:
        """salesinvoice/PrintedSalesInvoices: finalise an open invoice and book its financial entry."""
        values = parse_body(self.spec("PrintedSalesInvoices"), body, "POST")
        if not values.get("InvoiceID"):
            raise bad_request("Mandatory field missing: InvoiceID (PrintedSalesInvoices).")
        invoice = dict(self.ref("SalesInvoices", values["InvoiceID"], "InvoiceID"))
        if invoice["Status"] == 50:
            raise bad_request(f"Sales invoice {invoice['InvoiceNumber']} has already been processed.")
        invoice["InvoiceNumber"] = self._invoice_number()
        if values.get("InvoiceDate"):
            invoice["InvoiceDate"] = values["InvoiceDate"]
        invoice["Status"], invoice["StatusDescription"] = 50, "Processed"
        stamp_modified(invoice, self.actor)
        lines_table = self.division.table("SalesInvoiceLines")
        lines = sorted(
            (lines_table.rows[k] for k in lines_table.lookup("InvoiceID", invoice["InvoiceID"]) or ()),
            key=lambda line: line["LineNumber"],
        )
        journal = self.by_code("Journals", invoice["Journal"], "Journal")
        customer = self.ref("Accounts", invoice["InvoiceTo"] or invoice["OrderedBy"], "InvoiceTo")
        entry_type = 21 if invoice["Type"] in (8021, 8024) else 20
        header_key = invoice["InvoiceID"]
        entry = Entry(header_key, invoice["InvoiceNumber"], entry_type, journal, invoice, customer, lines)
        book(self, entry)
        self.store("SalesInvoices", invoice)
        self._touch_lines("SalesInvoices", invoice["InvoiceID"])
        printed = blank_row(self.spec("PrintedSalesInvoices"), self.division.number)
        printed.update(values)
        printed["InvoiceDate"] = invoice["InvoiceDate"]
        printed["DocumentCreationSuccess"] = "Document created"
        if values.get("SendEmailToCustomer"):
            printed["EmailCreationSuccess"] = "Email sent"
        return printed

    def _invoice_number(self) -> int:
        year = datetime.fromtimestamp(self.actor.now, UTC).year % 100
        return year * 1_000_000 + self.division.next_number(f"InvoiceNumber{year}")

    def _create_salesentries(self, values: dict[str, Any]) -> dict[str, Any]:
        row, lines = self._create_document("SalesEntries", values)
        journal = self._sales_journal(row["Journal"])
        row["Journal"], row["JournalDescription"] = journal["Code"], journal["Description"]
        customer = self._customer(row["Customer"], "Customer")
        row["CustomerName"] = customer["Name"]
        row["Currency"] = row.get("Currency") or "EUR"
        row["EntryDate"] = row.get("EntryDate") or self.today()
        self._order_number_entry(row)
        self._totals(row, lines)
        row["Type"] = 21 if money(row["AmountFC"]) < 0 else 20
        row["TypeDescription"] = "Sales credit note" if row["Type"] == 21 else "Sales entry"
        row["Status"], row["StatusDescription"] = 20, "Open"
        if row.get("PaymentCondition"):
            condition = self.by_code("PaymentConditions", row["PaymentCondition"], "PaymentCondition")
            row["PaymentConditionDescription"] = condition["Description"]
        book(self, Entry(row["EntryID"], row["EntryNumber"], row["Type"], journal, row, customer, lines))
        self._store_document("SalesEntries", row, lines)
        return row

    def _order_number_entry(self, row: dict[str, Any]) -> None:
        if row.get("EntryNumber"):
            self.division.saw_number("EntryNumber", row["EntryNumber"])
        else:
            row["EntryNumber"] = self.division.next_number("EntryNumber")

    def _create_generaljournalentries(self, values: dict[str, Any]) -> dict[str, Any]:
        row, lines = self._create_document("GeneralJournalEntries", values)
        journal = self.by_code("Journals", row["JournalCode"], "JournalCode")
        row["JournalCode"], row["JournalDescription"] = journal["Code"], journal["Description"]
        row["Currency"] = row.get("Currency") or "EUR"
        row["Type"], row["TypeDescription"] = 90, "Other"
        row["Status"], row["StatusDescription"] = 20, "Open"
        self._order_number_entry(row)
        for line in lines:
            line["EntryNumber"] = row["EntryNumber"]
            line["Date"] = line.get("Date") or self.today()
            if line.get("VATCode") and not journal.get("AllowVAT"):
                raise bad_request(f"VATCode: journal {journal['Code']} does not allow VAT.")
        book(self, Entry(row["EntryID"], row["EntryNumber"], 90, journal, row, None, lines, signed=True))
        self._store_document("GeneralJournalEntries", row, lines)
        return row
