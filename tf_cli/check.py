"""`tf check`, the CI gate: validation plus every coverage requirement.

Exit 1 when validation finds a problem or an `error` requirement fails; `warn`
requirements are reported and pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from tf_cli.coverage import SignatureCoverage, measure
from tf_cli.coverage.render import gap_place
from tf_cli.coverage.render import markdown as coverage_markdown
from tf_cli.coverage.render import to_json as coverage_json
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


def run_check(project: Project) -> CheckResult:
    return CheckResult(validate(project), measure(project))


def text_lines(result: CheckResult) -> list[str]:
    lines = [str(p) for p in result.validation.problems]
    for cov in result.coverage:
        mark = "FAIL" if cov.failed_errors else "ok"
        lines.append(f"{mark:4} {cov.signature}: {cov.examples} examples "
                     f"(min {cov.min_examples}, target {cov.target_examples})")
        for r in cov.requirements:
            if not r.passed:
                word = "FAIL" if r.level == "error" else "warn"
                lines.append(f"       {word} {r.label}: {r.detail}")
    return lines


def markdown(result: CheckResult, changes=None) -> str:
    """The PR report: verdict, validation, coverage table, and (with --base) the diff."""
    verdict = "✅ passed" if result.passed else "❌ failed"
    lines = [f"## tf check: {verdict}", ""]
    if changes is not None:
        from tf_cli.diff import text

        summary = [f"{s.signature}: +{len(s.added)} -{len(s.removed)} ~{len(s.modified)}"
                   for s in changes.signatures if s.changed]
        lines += [f"Changes since {changes.base[:10]}: " + ("; ".join(summary) or "none"), "",
                  "<details><summary>Example-level diff</summary>", "",
                  text(changes, markdown=True).replace("## tf diff", "#### tf diff"),
                  "</details>", ""]
    problems = result.validation.problems
    lines.append(f"Validation: {result.validation.examples} examples in "
                 f"{result.validation.files} files, "
                 + (f"**{len(problems)} problems**" if problems else "no problems") + ".")
    if problems:
        lines += ["", "```", *[str(p) for p in problems[:50]], "```"]
        if len(problems) > 50:
            lines.append(f"… and {len(problems) - 50} more: run `tf validate`.")
    lines += ["", f"Coverage: {result.failed_requirements} error requirements failed, "
              f"{result.warnings} warnings.", "",
              "| signature | examples | target | ready | failed (error) | top gap |",
              "|---|---:|---:|---|---|---|"]
    for cov in result.coverage:
        failed = "; ".join(r.label for r in cov.failed_errors) or "-"
        top = f"{cov.gaps[0].need} × {gap_place(cov.gaps[0])}" if cov.gaps else "-"
        lines.append(f"| {cov.signature} | {cov.examples} | {cov.target_examples} | "
                     f"{'yes' if cov.ready else 'no'} | {failed} | {top} |")
    lines += ["", "<details><summary>Coverage by signature</summary>", "",
              coverage_markdown(result.coverage), "</details>", ""]
    return "\n".join(lines)
