"""Coverage as code: params.yaml says what enough data is; DuckDB measures it."""

from tf_cli.coverage.engine import RequirementResult, SignatureCoverage, measure, to_json
from tf_cli.coverage.gaps import Gap

__all__ = ["Gap", "RequirementResult", "SignatureCoverage", "measure", "to_json"]
