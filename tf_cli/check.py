"""`tf check`, the CI gate: validation plus every coverage requirement.

Exit 1 when validation finds a problem or an `error` requirement fails; `warn`
requirements are reported and pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from tf_cli.coverage import SignatureCoverage, measure
from tf_cli.coverage.engine import to_json as coverage_json
from tf_cli.errors import EXIT_CHECK_FAILED, EXIT_OK
from tf_cli.project import Project
from tf_cli.validate import ValidationReport, validate


@dataclass
class CheckResult:
    validation: ValidationReport
    coverage: list[SignatureCoverage]

    @property
    def failed_requirements(self) -> int:
        return sum(len(c.failed_errors) for c in self.coverage)

    @property
    def warnings(self) -> int:
        return sum(len(c.failed_warnings) for c in self.coverage)

    @property
    def exit_code(self) -> int:
        if self.validation.exit_code != EXIT_OK:
            return self.validation.exit_code
        return EXIT_CHECK_FAILED if self.failed_requirements else EXIT_OK

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_OK

    def to_json(self) -> dict:
        return {"ok": self.passed, "failed_requirements": self.failed_requirements,
                "warnings": self.warnings, "validation": self.validation.to_json(),
                "coverage": coverage_json(self.coverage)}


def run_check(project: Project, incremental: bool = False) -> CheckResult:
    """Validation (with `incremental`, only what changed since the records in
    .git/tf/checked/: tf_cli/incremental.py) and every coverage requirement."""
    return CheckResult(validate(project, incremental=incremental), measure(project))
