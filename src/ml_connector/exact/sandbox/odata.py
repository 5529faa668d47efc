"""The OData v3 subset Exact serves: `$filter` parsing and evaluation, `$orderby`, `$select`, paging options.

Filters compile into Python closures over a record dict. Comparison follows Exact's SQL Server backend:
strings compare case-insensitively and ignore trailing spaces (so `Code eq '21'` matches the padded
`"21 "`, while the 18-character Account codes still need their leading spaces or `trim()`).
Operands are type-checked like Exact does: a Guid property takes only `guid'..'`, a DateTime only
`datetime'..'`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .formats import ExactError, bad_request, date_ms

Row = Mapping[str, Any]
Getter = Callable[[Row], Any]

_TOKEN_RE = re.compile(
    r"""\s*(?:
    (?P<prefixed>(?:guid|datetime|datetimeoffset|time)'[^']*')
    |(?P<string>'(?:[^']|'')*')
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith", "substringof", "trim", "tolower", "toupper", "length"}


def normalize(value: Any) -> Any:
    """The form values are compared (and indexed) in: strings case-folded without trailing spaces."""
    if isinstance(value, str):
        return value.rstrip().casefold()
    return value


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Field:
    name: str
    edm: str


@dataclass(frozen=True)
class Lit:
    value: Any
    kind: str  # string guid datetime int long decimal double bool null


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Field | Lit | Call | Compare | BoolOp | Not


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, str], type_name: str) -> None:
        self.text = text
        self.fields = fields
        self.type_name = type_name
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[tuple[str, str, int]]:
        tokens: list[tuple[str, str, int]] = []
        index = 0
        while index < len(text):
            if text[index:].strip() == "":
                break
            match = _TOKEN_RE.match(text, index)
            if not match or match.end() == index:
                raise bad_request(f"Syntax error at position {index} in '{text}'.")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind), match.start(kind)))
            index = match.end()
        return tokens

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise bad_request(f"Expression expected at position {len(self.text)} in '{self.text}'.")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        _, value, at = self.take()
        if value != text:
            raise bad_request(f"'{text}' expected at position {at} in '{self.text}'.")

    def at_word(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "name" and token[1] in words:
            return token[1]
        return None

    def parse(self) -> Node:
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            raise bad_request(f"Syntax error at position {token[2]} in '{self.text}'.")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.at_word("or"):
            self.take()
            node = BoolOp("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_unary()
        while self.at_word("and"):
            self.take()
            node = BoolOp("and", node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.at_word("not"):
            self.take()
            return Not(self.parse_unary())
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_primary()
        op = self.at_word(*_COMPARISONS)
        if op is None:
            return left
        self.take()
        right = self.parse_primary()
        _check_operands(op, left, right, self.text)
        return Compare(op, left, right)

    def parse_primary(self) -> Node:
        kind, value, at = self.take()
        if kind == "punct" and value == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        if kind in ("prefixed", "string", "number"):
            return _literal(kind, value, at, self.text)
        if kind == "name":
            if value in ("true", "false"):
                return Lit(value == "true", "bool")
            if value == "null":
                return Lit(None, "null")
            nxt = self.peek()
            if nxt and nxt[1] == "(":
                return self.parse_call(value, at)
            edm = self.fields.get(value)
            if edm is None or edm.startswith("Collection("):
                raise bad_request(
                    f"No property '{value}' exists in type '{self.type_name}' at position {at}."
                )
            return Field(value, edm)
        raise bad_request(f"Syntax error at position {at} in '{self.text}'.")

    def parse_call(self, name: str, at: int) -> Node:
        if name not in _FUNCTIONS:
            raise bad_request(f"Unknown function '{name}' at position {at}.")
        self.expect("(")
        args: list[Node] = [self.parse_or()]
        while (token := self.peek()) is not None and token[1] == ",":
            self.take()
            args.append(self.parse_or())
        self.expect(")")
        expected = 2 if name in ("startswith", "endswith", "substringof") else 1
        if len(args) != expected:
            raise bad_request(f"Function '{name}' takes {expected} argument(s) (position {at}).")
        return Call(name, tuple(args))


def _literal(kind: str, text: str, at: int, source: str) -> Lit:
    if kind == "string":
        return Lit(text[1:-1].replace("''", "'"), "string")
    if kind == "number":
        suffix = text[-1].upper()
        if suffix == "L":
            return Lit(int(text[:-1]), "long")
        if suffix in "MDF":
            return Lit(float(text[:-1]), "double")
        return Lit(float(text), "double") if any(c in text for c in ".eE") else Lit(int(text), "int")
    prefix, _, rest = text.partition("'")
    body = rest[:-1]
    try:
        if prefix == "guid":
            return Lit(str(uuid.UUID(body)), "guid")
        if prefix in ("datetime", "datetimeoffset"):
            moment = datetime.fromisoformat(body.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return Lit(int(moment.replace(tzinfo=UTC).timestamp() * 1000), "datetime")
    except ValueError:
        pass
    raise bad_request(f"Unrecognized '{prefix}' literal '{text}' at position {at} in '{source}'.")


_NUMERIC_EDM = {"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Byte", "Edm.Decimal"}
_NUMERIC_LIT = {"int", "long", "double"}


def _operand_type(node: Node) -> str | None:
    if isinstance(node, Field):
        return node.edm
    if isinstance(node, Lit):
        return {
            "string": "Edm.String",
            "guid": "Edm.Guid",
            "datetime": "Edm.DateTime",
            "bool": "Edm.Boolean",
            "null": None,
        }.get(node.kind, "Edm.Double")
    if isinstance(node, Call):
        if node.name in ("startswith", "endswith", "substringof"):
            return "Edm.Boolean"
        return "Edm.Int32" if node.name == "length" else "Edm.String"
    return "Edm.Boolean"


def _check_operands(op: str, left: Node, right: Node, source: str) -> None:
    a, b = _operand_type(left), _operand_type(right)
    if a is None or b is None:
        return
    if a in _NUMERIC_EDM and b in _NUMERIC_EDM:
        return
    if {a, b} == {"Edm.Byte", "Edm.Boolean"}:  # Exact's 0/1 flags
        return
    if a != b:
        raise bad_request(f"Operator '{op}' incompatible with operand types '{a}' and '{b}' in '{source}'.")


# ---------------------------------------------------------------- evaluation


def _getter(node: Node) -> Getter:
    if isinstance(node, Lit):
        value = node.value

        def constant(_row: Row) -> Any:
            return value

        return constant
    if isinstance(node, Field):
        name = node.name
        if node.edm == "Edm.DateTime":

            def date_field(row: Row) -> Any:
                raw = row.get(name)
                return date_ms(raw) if isinstance(raw, str) else raw

            return date_field
        if node.edm == "Edm.Guid":

            def guid_field(row: Row) -> Any:
                raw = row.get(name)
                return raw.lower() if isinstance(raw, str) else raw

            return guid_field

        def plain_field(row: Row) -> Any:
            return row.get(name)

        return plain_field
    if isinstance(node, Call):
        return _call(node)
    return compile_filter(node)


def _call(node: Call) -> Getter:
    args = [_getter(arg) for arg in node.args]
    name = node.name

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    def evaluate(row: Row) -> Any:
        values = [text(get(row)) for get in args]
        if name == "trim":
            return None if values[0] is None else values[0].strip()
        if name == "tolower":
            return None if values[0] is None else values[0].lower()
        if name == "toupper":
            return None if values[0] is None else values[0].upper()
        if name == "length":
            return None if values[0] is None else len(values[0])
        first, second = values
        if first is None or second is None:
            return False
        if name == "substringof":  # substringof(needle, haystack)
            return first.casefold() in second.casefold()
        if name == "startswith":
            return second.casefold() == "" or first.casefold().startswith(second.casefold())
        return first.casefold().endswith(second.casefold())

    return evaluate


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        if op == "ne":
            return not (a is None and b is None)
        return False
    a, b = normalize(a), normalize(b)
    try:
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError:
        return False


def compile_filter(node: Node) -> Callable[[Row], bool]:
    if isinstance(node, Compare):
        left, right, op = _getter(node.left), _getter(node.right), node.op
        return lambda row: _compare(op, left(row), right(row))
    if isinstance(node, BoolOp):
        first, second = compile_filter(node.left), compile_filter(node.right)
        if node.op == "and":
            return lambda row: first(row) and second(row)
        return lambda row: first(row) or second(row)
    if isinstance(node, Not):
        inner = compile_filter(node.operand)
        return lambda row: not inner(row)
    get = _getter(node)
    return lambda row: bool(get(row))


def equality_terms(node: Node) -> list[tuple[str, Any]]:
    """`Field eq literal` terms that must all hold (top-level `and` chain): usable for index lookups."""
    if isinstance(node, BoolOp) and node.op == "and":
        return equality_terms(node.left) + equality_terms(node.right)
    if isinstance(node, Compare) and node.op == "eq":
        field, lit = node.left, node.right
        if isinstance(field, Lit):
            field, lit = lit, field
        if isinstance(field, Field) and isinstance(lit, Lit) and lit.kind != "null":
            return [(field.name, normalize(lit.value))]
    return []


def referenced_fields(node: Node) -> set[str]:
    if isinstance(node, Field):
        return {node.name}
    if isinstance(node, Call):
        return set().union(*(referenced_fields(a) for a in node.args))
    if isinstance(node, Compare | BoolOp):
        return referenced_fields(node.left) | referenced_fields(node.right)
    if isinstance(node, Not):
        return referenced_fields(node.operand)
    return set()


# ---------------------------------------------------------------- query options


@dataclass
class Query:
    filter: Node | None = None
    select: tuple[str, ...] | None = None  # None: every property
    expand: frozenset[str] = frozenset()
    orderby: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    top: int | None = None
    skip: int = 0
    skiptoken: str | None = None
    inlinecount: bool = False


_KNOWN_OPTIONS = {
    "$filter",
    "$select",
    "$expand",
    "$orderby",
    "$top",
    "$skip",
    "$skiptoken",
    "$inlinecount",
    "$format",
}


def _non_negative(name: str, text: str) -> int:
    if not text.isdigit():
        raise bad_request(f"Invalid value '{text}' for {name}: a non-negative integer is required.")
    return int(text)


def parse_query(params: Mapping[str, str], fields: Mapping[str, str], type_name: str) -> Query:
    """Parse the system query options against an entity's property types (name -> Edm type)."""
    for name in params:
        if name.startswith("$") and name not in _KNOWN_OPTIONS:
            raise bad_request(f"The query parameter '{name}' is not supported.")
    query = Query()
    if text := params.get("$filter"):
        query.filter = _Parser(text, fields, type_name).parse()
    if text := params.get("$select"):
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        if "*" not in names:
            for name in names:
                if name not in fields:
                    raise bad_request(f"Type '{type_name}' does not have a property named '{name}'.")
            query.select = names
    if text := params.get("$expand"):
        expand = frozenset(part.strip() for part in text.split(","))
        for name in expand:
            if not fields.get(name, "").startswith("Collection("):
                raise bad_request(f"Type '{type_name}' does not have a navigation property named '{name}'.")
        query.expand = expand
    if text := params.get("$orderby"):
        order = []
        for part in text.split(","):
            name, _, direction = part.strip().partition(" ")
            direction = direction.strip().lower() or "asc"
            if name not in fields or direction not in ("asc", "desc"):
                raise bad_request(f"Invalid $orderby '{part.strip()}' for type '{type_name}'.")
            order.append((name, direction == "desc"))
        query.orderby = tuple(order)
    if (text := params.get("$top")) is not None:
        query.top = _non_negative("$top", text)
    if (text := params.get("$skip")) is not None:
        query.skip = _non_negative("$skip", text)
    query.skiptoken = params.get("$skiptoken")
    if (text := params.get("$inlinecount")) is not None:
        if text not in ("allpages", "none"):
            raise bad_request(f"Invalid value '{text}' for $inlinecount: use 'allpages' or 'none'.")
        query.inlinecount = text == "allpages"
    if params.get("$format", "json") != "json":
        raise ExactError(
            406, "Only JSON is served by this sandbox: use $format=json or Accept: application/json."
        )
    return query


def sort_key(fields: tuple[tuple[str, bool], ...], edm: Mapping[str, str]) -> Callable[[Row], Any]:
    """Key for `$orderby`: NULLs first (SQL Server), strings case-insensitively, dates by value."""

    def one(row: Row, name: str) -> tuple[int, Any]:
        value = row.get(name)
        if value is None:
            return (0, 0)
        if edm.get(name) == "Edm.DateTime" and isinstance(value, str):
            return (1, date_ms(value) or 0)
        return (1, normalize(value))

    if all(not descending for _, descending in fields):
        return lambda row: tuple(one(row, name) for name, _ in fields)

    def mixed(row: Row) -> Any:
        return tuple(_Reversed(one(row, name)) if desc else one(row, name) for name, desc in fields)

    return mixed


class _Reversed:
    """Wraps a sort key so that it sorts descending inside a tuple."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)
