"""`mapping explain`: which rule placed each line, field by field, and why."""

from __future__ import annotations

from dataclasses import dataclass

from ml_connector.flows.gl_mapping.model import TARGET_FIELDS, MappingDoc
from ml_connector.flows.gl_mapping.resolve import (
    FieldSource,
    LineContext,
    NoMappingError,
    Resolution,
    resolve,
)


@dataclass(frozen=True)
class Explanation:
    """One line of a document: its resolution, or the error that would park the document."""

    line: LineContext
    resolution: Resolution | None
    error: NoMappingError | None = None

    def render(self) -> str:
        head = self.line.describe()
        if self.error is not None:
            return f"{head}\n  NOT MAPPED: no {self.error.missing}; {self.error.fix}"
        assert self.resolution is not None  # exactly one of resolution and error is set
        rules = ", ".join(repr(name) for name in self.resolution.applicable_rules) or "none"
        rows = [head, f"  applicable rules (most specific first): {rules}"]
        rows += [f"  {name}: {_render_source(self.resolution.sources[name])}" for name in TARGET_FIELDS]
        return "\n".join(rows)


def explain_line(doc: MappingDoc, line: LineContext) -> Explanation:
    try:
        return Explanation(line, resolve(doc, line))
    except NoMappingError as exc:
        return Explanation(line, None, exc)


def render_explanations(explanations: list[Explanation]) -> str:
    return "\n".join(explanation.render() for explanation in explanations)


def _render_source(source: FieldSource) -> str:
    value = "-" if source.value is None else source.value
    return f"{value}  <- {source.reason}"
