"""A problem in a mapping document, located by YAML path and line (record-level mapping problems
of documents use the shared `ml_connector.flows.problems.Problem`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MappingProblem:
    path: str  # dotted YAML path, e.g. "rules.3.gl_account"
    line: int | None  # 1-based line in the YAML text; None for documents built in code
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "(no line)"
        return f"{where}: {self.path or '<document>'}: {self.message}"


class MappingInvalid(Exception):
    """The document was rejected; nothing was applied. `problems` lists every reason."""

    def __init__(self, problems: list[MappingProblem]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"mapping rejected, nothing applied ({len(problems)} problem(s)):\n{listing}")
