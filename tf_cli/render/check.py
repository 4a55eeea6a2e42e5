"""`tf check` for people: one line per problem and signature, or the pull-request Markdown."""

from __future__ import annotations

from tf_cli.check import CheckResult
from tf_cli.diff import DataDiff
from tf_cli.render.coverage import markdown as coverage_markdown
from tf_cli.render.diff import markdown as diff_markdown
from tf_cli.render.markdown import code_block, inline
from tf_cli.words import plural


def text_lines(result: CheckResult) -> list[str]:
    lines = [str(p) for p in result.validation.problems]
    for cov in result.coverage:
        mark = "FAIL" if cov.failed_errors else "ok"
        lines.append(f"{mark:4} {cov.signature}: {plural(cov.examples, 'example')} "
                     f"(min {cov.min_examples}, target {cov.target_examples})")
        for r in cov.requirements:
            if not r.passed:
                word = "FAIL" if r.level == "error" else "warn"
                lines.append(f"       {word} {r.label}: {r.detail}")
    return lines


def markdown(result: CheckResult, changes: DataDiff | None = None) -> str:
    """The PR report: verdict, validation, coverage table, and (with --base) the diff."""
    verdict = "✅ passed" if result.passed else "❌ failed"
    lines = [f"## tf check: {verdict}", ""]
    if changes is not None:
        summary = [f"{s.signature}: +{len(s.added)} -{len(s.removed)} ~{len(s.modified)}"
                   for s in changes.signatures if s.changed]
        lines += [f"Changes since {changes.base[:10]}: " + ("; ".join(summary) or "none"), "",
                  "<details><summary>Example-level diff</summary>", "",
                  diff_markdown(changes, level=4),
                  "</details>", ""]
    problems = result.validation.problems
    lines.append(f"Validation: {plural(result.validation.examples, 'example')} in "
                 f"{plural(result.validation.files, 'file')}, "
                 + (f"**{plural(len(problems), 'problem')}**" if problems else "no problems")
                 + ".")
    if problems:
        lines += ["", *code_block([str(p) for p in problems[:50]])]
        if len(problems) > 50:
            lines.append(f"… and {len(problems) - 50} more: run `tf validate`.")
    lines += ["", f"Coverage: {plural(result.failed_requirements, 'error requirement')} "
              f"failed, {plural(result.warnings, 'warning')}.", "",
              "| signature | examples | target | ready | failed (error) | top gap |",
              "|---|---:|---:|---|---|---|"]
    for cov in result.coverage:
        failed = "; ".join(inline(r.label) for r in cov.failed_errors) or "-"
        top = f"{cov.gaps[0].need} × {inline(cov.gaps[0].place)}" if cov.gaps else "-"
        lines.append(f"| {cov.signature} | {cov.examples} | {cov.target_examples} | "
                     f"{'yes' if cov.ready else 'no'} | {failed} | {top} |")
    lines += ["", "<details><summary>Coverage by signature</summary>", "",
              coverage_markdown(result.coverage), "</details>", ""]
    return "\n".join(lines)
