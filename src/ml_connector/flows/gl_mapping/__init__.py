"""The GL mapping layer: rules that send each document line to an Exact GL account, cost center, cost
unit and VAT code; their YAML form, validation against Exact master data, versioned encrypted storage
and `mapping explain`. Shop-neutral: shops describe their lines as `LineContext`s."""

from ml_connector.flows.gl_mapping.explain import Explanation, explain_line, render_explanations
from ml_connector.flows.gl_mapping.masterdata import ExactMasterData, load_masterdata
from ml_connector.flows.gl_mapping.model import Booking, LineKind, MappingDoc, Match, Rule, Target
from ml_connector.flows.gl_mapping.problems import MappingInvalid, MappingProblem
from ml_connector.flows.gl_mapping.resolve import LineContext, NoMappingError, Resolution, resolve
from ml_connector.flows.gl_mapping.store import (
    MappingCache,
    MappingNotFound,
    MappingVersion,
    StoredMapping,
    import_mapping,
    load_mapping,
    mapping_history,
    save_mapping,
)
from ml_connector.flows.gl_mapping.validate import validate_against_masterdata
from ml_connector.flows.gl_mapping.yaml_io import export_mapping, parse_mapping

__all__ = [
    "Booking",
    "ExactMasterData",
    "Explanation",
    "LineContext",
    "LineKind",
    "MappingCache",
    "MappingDoc",
    "MappingInvalid",
    "MappingNotFound",
    "MappingProblem",
    "MappingVersion",
    "Match",
    "NoMappingError",
    "Resolution",
    "Rule",
    "StoredMapping",
    "Target",
    "explain_line",
    "export_mapping",
    "import_mapping",
    "load_mapping",
    "load_masterdata",
    "mapping_history",
    "parse_mapping",
    "render_explanations",
    "resolve",
    "save_mapping",
    "validate_against_masterdata",
]
