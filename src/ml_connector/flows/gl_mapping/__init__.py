"""The GL mapping layer: rules that send each document line to an Exact GL account, cost center, cost
unit and VAT code; their YAML form, validation against Exact master data and `mapping explain`
(stored by `ml_connector.pipelines.gl_mappings`). Shop-neutral: shops describe lines as `LineContext`s."""

from ml_connector.flows.gl_mapping.explain import Explanation, explain_line, render_explanations
from ml_connector.flows.gl_mapping.masterdata import ExactMasterData
from ml_connector.flows.gl_mapping.model import Booking, LineKind, MappingDoc, Match, Rule, Target
from ml_connector.flows.gl_mapping.problems import MappingInvalid, MappingProblem
from ml_connector.flows.gl_mapping.resolve import LineContext, NoMappingError, Resolution, resolve
from ml_connector.flows.gl_mapping.validate import validate_against_masterdata
from ml_connector.flows.gl_mapping.yaml_io import export_mapping, parse_mapping

__all__ = [
    "Booking",
    "ExactMasterData",
    "Explanation",
    "LineContext",
    "LineKind",
    "MappingDoc",
    "MappingInvalid",
    "MappingProblem",
    "Match",
    "NoMappingError",
    "Resolution",
    "Rule",
    "Target",
    "explain_line",
    "export_mapping",
    "parse_mapping",
    "render_explanations",
    "resolve",
    "validate_against_masterdata",
]
