"""Coverage as code: params.yaml says what enough data is; DuckDB measures it."""

from tf_cli.coverage.engine import Gap, RequirementResult, SignatureCoverage, measure

__all__ = ["Gap", "RequirementResult", "SignatureCoverage", "measure"]
