"""YAML import/export of mapping documents, with line numbers on every problem."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import yaml
from pydantic import ValidationError

from ml_connector.flows.gl_mapping.model import CRITERIA_BY_KIND, TARGET_FIELDS, MappingDoc
from ml_connector.flows.gl_mapping.problems import MappingInvalid, MappingProblem

HEADER = """\
# ml-connector GL mapping. Edit, then `ml-connector mapping import NAME FILE`.
# Line kinds: product, shipping, discount, payment_fee, adjustment_positive, adjustment_negative.
# A rule applies when every criterion in `match` fits the line. Most specific wins, per field:
#   sku > product_id > category > product_type > store > website (ties: earlier rule wins).
# Fields a rule leaves out come from a less specific rule, then from defaults.<line kind>.
# vat_code, when no rule or default sets it, comes from the connection's VAT settings by the
# line's tax rate (Magento's own tax amounts are booked as they are).
# booking: sales_invoice (Exact invoices, processed into the revenue journal) or sales_entry (GL only).
"""


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


class _TextLoader(yaml.SafeLoader):
    """Reads unquoted numbers as text, so codes stay exactly as written: YAML 1.1 would read GL code
    0100 as the octal number 64 and 8000 as an integer. Numeric fields (product_id) convert back."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NUMBER_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def parse_mapping(text: str) -> MappingDoc:
    """Parse and check a YAML mapping document; raises MappingInvalid with line-numbered problems."""
    try:
        root = yaml.compose(text, Loader=_TextLoader)
        data = yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise MappingInvalid([MappingProblem("", line, f"not valid YAML: {exc}")]) from exc
    lines: dict[str, int] = {}
    problems: list[MappingProblem] = []
    if root is not None:
        _index_lines(root, "", lines, problems)
    if not isinstance(data, dict):
        message = "the document must be a mapping (format, booking, journal, defaults, rules)"
        raise MappingInvalid([MappingProblem("", 1, message)])
    try:
        doc = MappingDoc.model_validate(data).with_lines(lines)
    except ValidationError as exc:
        problems += [_problem_from_error(err, lines) for err in exc.errors()]
        raise MappingInvalid(problems) from exc
    problems += check_structure(doc)
    if problems:
        raise MappingInvalid(problems)
    return doc


def export_mapping(doc: MappingDoc) -> str:
    body = yaml.safe_dump(doc.to_plain(), sort_keys=False, allow_unicode=True, default_flow_style=False)
    return HEADER + body


def check_structure(doc: MappingDoc) -> list[MappingProblem]:
    """Checks that need no master data: names, empty rules, criteria a line kind cannot have, conflicts."""
    problems: list[MappingProblem] = []

    def report(path: str, message: str) -> None:
        problems.append(MappingProblem(path, doc.line_of(path), message))

    first_by_name: dict[str, int] = {}
    # (line kind, criteria, field) -> rules setting that field, to find true conflicts.
    setters: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, rule in enumerate(doc.rules):
        path = f"rules.{index}"
        if rule.name in first_by_name:
            report(f"{path}.name", f"rule name '{rule.name}' is used twice")
        first_by_name.setdefault(rule.name, index)
        if not rule.set_fields():
            report(path, f"rule '{rule.name}' sets none of {', '.join(TARGET_FIELDS)}")
        allowed = CRITERIA_BY_KIND[rule.line]
        for criterion in rule.match.criteria():
            if criterion not in allowed:
                report(
                    f"{path}.match.{criterion}",
                    f"{rule.line} lines have no {criterion}; use one of: {', '.join(sorted(allowed))}",
                )
        for name in rule.set_fields():
            setters[(rule.line, rule.match.describe(), name)].append(index)
    for (_kind, _criteria, name), indexes in setters.items():
        first = doc.rules[indexes[0]].name
        for later in indexes[1:]:
            report(
                f"rules.{later}.{name}",
                f"rule '{doc.rules[later].name}' has the same match as rule '{first}' and also sets "
                f"{name}: merge them or make one more specific",
            )
    return problems


def _index_lines(node: yaml.Node, path: str, lines: dict[str, int], problems: list[MappingProblem]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in seen:
                # PyYAML silently keeps the last duplicate; an editor would not expect that.
                line = key_node.start_mark.line + 1
                problems.append(MappingProblem(child, line, f"key '{key}' appears twice"))
            seen.add(key)
            _index_lines(value_node, child, lines, problems)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, f"{path}.{index}" if path else str(index), lines, problems)


def _problem_from_error(error: Any, lines: dict[str, int]) -> MappingProblem:
    parts = [str(p) for p in error["loc"] if p != "[key]"]
    path = ".".join(parts)
    line = None
    probe = list(parts)
    while probe:
        candidate = ".".join(probe)
        if candidate in lines:
            line = lines[candidate]
            break
        probe.pop()
    if line is None:
        line = lines.get("")
    return MappingProblem(path, line, str(error["msg"]))
