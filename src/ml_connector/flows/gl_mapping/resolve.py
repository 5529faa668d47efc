"""Resolve one document line against a mapping document: target fields plus the reason for each."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ml_connector.flows.gl_mapping.model import TARGET_FIELDS, LineKind, MappingDoc, Rule


@dataclass(frozen=True)
class LineContext:
    """What the mapping can see of a line. `label` names the line in messages."""

    kind: LineKind
    label: str
    sku: str | None = None
    product_ids: frozenset[int] = frozenset()  # a configurable line carries parent and child ids
    categories: frozenset[str] = frozenset()
    product_type: str | None = None
    stores: frozenset[str] = frozenset()  # store view id and code, as text
    websites: frozenset[str] = frozenset()  # website id and code, as text
    tax_percent: Decimal | None = None  # the shop's own percentage for the line
    # VAT code from the connection's VAT settings (flows.vat) for the line's tax rate, used when no
    # rule or default sets vat_code; `vat_hint_reason` says which VAT rule gave it (or why none did).
    vat_hint: str | None = None
    vat_hint_reason: str = "no VAT settings rule for the line"

    def describe(self) -> str:
        parts = [self.kind.value]
        if self.sku:
            parts.append(f"sku {self.sku}")
        if self.product_type:
            parts.append(f"type {self.product_type}")
        return f"{self.label} ({', '.join(parts)})"


def rule_applies(rule: Rule, line: LineContext) -> bool:
    if rule.line != line.kind:
        return False
    m = rule.match
    return (
        (m.sku is None or m.sku == line.sku)
        and (m.product_id is None or m.product_id in line.product_ids)
        and (m.category is None or m.category in line.categories)
        and (m.product_type is None or m.product_type == line.product_type)
        and (m.store is None or m.store in line.stores)
        and (m.website is None or m.website in line.websites)
    )


@dataclass(frozen=True)
class FieldSource:
    """Where one resolved field came from: a rule (by name), the default, or the VAT table."""

    value: str | None
    origin: str  # "rule", "default", "vat_settings"
    rule: str | None
    reason: str


@dataclass(frozen=True)
class Resolution:
    line: LineContext
    gl_account: str
    cost_center: str | None
    cost_unit: str | None
    vat_code: str
    item: str | None
    sources: dict[str, FieldSource]
    applicable_rules: tuple[str, ...]  # most specific first


class NoMappingError(Exception):
    """A line the mapping cannot place; the message names the line and the rule to add."""

    def __init__(self, line: LineContext, missing: str, fix: str) -> None:
        self.line = line
        self.missing = missing
        self.fix = fix
        super().__init__(f"{line.describe()}: no {missing} in the mapping; {fix}")


def applicable_rules(doc: MappingDoc, line: LineContext) -> list[Rule]:
    """Applicable rules, most specific first; equal specificity keeps document order (stable sort)."""
    hits = [rule for rule in doc.rules if rule_applies(rule, line)]
    return sorted(hits, key=lambda rule: rule.match.specificity(), reverse=True)


def resolve(doc: MappingDoc, line: LineContext) -> Resolution:
    rules = applicable_rules(doc, line)
    sources = {name: _resolve_field(doc, line, rules, name) for name in TARGET_FIELDS}
    if sources["vat_code"].value is None:
        sources["vat_code"] = FieldSource(line.vat_hint, "vat_settings", None, line.vat_hint_reason)
    gl_account = sources["gl_account"].value
    if gl_account is None:
        raise NoMappingError(line, "GL account", _suggest_rule(line, "gl_account: <GL code>"))
    vat_code = sources["vat_code"].value
    if vat_code is None:
        raise NoMappingError(line, "VAT code", _suggest_vat(line))
    return Resolution(
        line=line,
        gl_account=gl_account,
        cost_center=sources["cost_center"].value,
        cost_unit=sources["cost_unit"].value,
        vat_code=vat_code,
        item=sources["item"].value,
        sources=sources,
        applicable_rules=tuple(rule.name for rule in rules),
    )


def _resolve_field(doc: MappingDoc, line: LineContext, rules: list[Rule], name: str) -> FieldSource:
    setters = [rule for rule in rules if name in rule.model_fields_set]
    if setters:
        winner = setters[0]
        reason = f"rule '{winner.name}' matches {winner.match.describe()}"
        rivals = [r.name for r in setters[1:] if r.match.specificity() == winner.match.specificity()]
        if rivals:
            reason += f" (tie with {', '.join(repr(r) for r in rivals)}: earlier in the document wins)"
        elif len(setters) > 1:
            reason += f" (more specific than {', '.join(repr(r.name) for r in setters[1:])})"
        return FieldSource(getattr(winner, name), "rule", winner.name, reason)
    default = doc.defaults.get(line.kind)
    if default is not None and name in default.model_fields_set:
        return FieldSource(getattr(default, name), "default", None, f"no rule sets it; defaults.{line.kind}")
    return FieldSource(None, "default", None, "not set by any rule or default")


def _suggest_rule(line: LineContext, setting: str) -> str:
    if line.sku:
        example = f"{{name: {line.sku}, line: {line.kind}, match: {{sku: '{line.sku}'}}, {setting}}}"
        return f"add a rule {example} or set defaults.{line.kind}"
    return f"set defaults.{line.kind} ({setting}) or add a rule {{name: ..., line: {line.kind}, {setting}}}"


def _suggest_vat(line: LineContext) -> str:
    if line.tax_percent is not None:
        percent = line.tax_percent.normalize()
        return f"add a VAT rule for {percent}% to the connection's VAT settings, or set vat_code on a rule"
    return f"set vat_code on defaults.{line.kind} or on a rule for this line"
