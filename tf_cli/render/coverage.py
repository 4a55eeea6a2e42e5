"""Coverage for people: terminal tables and Markdown for pull requests (the JSON form for tools
is tf_cli.coverage.engine.to_json). Each is returned (Rich renderables, text); the commands
print them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tf_cli.coverage.engine import SignatureCoverage
from tf_cli.coverage.requirements import BucketMin, MaxShare
from tf_cli.render.markdown import inline
from tf_cli.words import plural

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text


def status_word(passed: bool, level: str) -> str:
    return "ok" if passed else ("FAIL" if level == "error" else "warn")


def _requirements_by_bucket(cov: SignatureCoverage) -> dict[tuple[str, str], list[str]]:
    """Short marks such as ">= 10 warn" for each (dimension, bucket) a requirement names."""
    marks: dict[tuple[str, str], list[str]] = {}
    for result in cov.requirements:
        requirement = result.requirement
        if isinstance(requirement, BucketMin):
            bucket = requirement.bucket
            mark = f">= {int(result.expected)}"
            if not result.passed:
                mark += f": needs {int(result.expected - result.actual)}"
        elif isinstance(requirement, MaxShare) and requirement.bucket is not None:
            bucket = requirement.bucket
            mark = f"<= {result.expected:.0%}"
        else:
            continue  # not about one bucket
        marks.setdefault((requirement.dimension, bucket), []).append(
            f"{mark} ({status_word(result.passed, result.level)})")
    return marks


def tables(coverages: list[SignatureCoverage], gaps_only: bool) -> list[Table | Text | str]:
    """What `tf coverage` shows, in order: Rich renderables, and lines (str) to print
    without wrapping."""
    from rich.table import Table
    from rich.text import Text

    shown: list[Table | Text | str] = []
    for cov in coverages:
        title = (f"{cov.signature}: {plural(cov.examples, 'example')} (min {cov.min_examples}, "
                 f"target {cov.target_examples})")
        if gaps_only:
            table = Table(title=title, title_justify="left")
            for column in ("needs", "where", "have", "level", "requirement"):
                table.add_column(column, justify="right" if column in ("needs", "have")
                                 else "left")
            for gap in cov.gaps:
                table.add_row(str(gap.need), gap.place, str(gap.have), gap.level,
                              gap.requirement)
            if not cov.gaps:
                table.add_row("-", "no gaps", "", "", "")
            shown.append(table)
            continue
        marks = _requirements_by_bucket(cov)
        table = Table(title=title, title_justify="left")
        numbers = ("count", "share", "pending") if cov.pending_dimensions else ("count", "share")
        for column in ("dimension", "bucket", *numbers, "requirement"):
            table.add_column(column, justify="right" if column in numbers else "left")
        for dimension, counts in cov.dimensions.items():
            waiting = cov.pending_dimensions.get(dimension, {})
            buckets = {**counts, **{b: 0 for b in waiting if b not in counts}}
            for index, (bucket, count) in enumerate(buckets.items()):
                share = f"{count / cov.examples:.0%}" if cov.examples else "-"
                extra = (str(waiting.get(bucket, 0)),) if cov.pending_dimensions else ()
                table.add_row(dimension if index == 0 else "", bucket, str(count), share,
                              *extra, ", ".join(marks.get((dimension, bucket), [])))
            table.add_section()
        shown.append(table)
        if _apart(cov):
            shown.append(f"not counted: {_apart(cov)[2:]}")
        checks = Table(show_header=True, box=None, padding=(0, 2))
        for column in ("status", "level", "requirement", "measured"):
            checks.add_column(column)
        for result in cov.requirements:
            checks.add_row(status_word(result.passed, result.level), result.level,
                           result.label, result.detail)
        shown.append(checks)
        shown.append(Text(f"diversity (distinct word trigrams): {cov.diversity}\n"))
    return shown


def markdown(coverages: list[SignatureCoverage], gaps_only: bool = False,
             top_gaps: int = 5) -> str:
    lines = []
    for cov in coverages:
        lines.append(f"### {cov.signature}: {cov.examples} / "
                     f"{plural(cov.target_examples, 'example')}"
                     f" ({'ready' if cov.ready else f'not ready: {cov.not_ready_because}'})"
                     + _apart(cov))
        lines.append("")
        if not gaps_only:
            lines += ["| requirement | level | measured | status |", "|---|---|---|---|"]
            lines += [f"| {inline(r.label)} | {r.level} | {inline(r.detail)} | "
                      f"{'✅' if r.passed else ('❌' if r.level == 'error' else '⚠️')} |"
                      for r in cov.requirements]
            lines.append("")
        shown = cov.gaps if gaps_only else cov.gaps[:top_gaps]
        if shown:
            lines += ["| needs | where | have | level |", "|---|---|---|---|"]
            lines += [f"| {g.need} | {inline(g.place)} | {g.have} | {g.level} |" for g in shown]
            if len(cov.gaps) > len(shown):
                more = plural(len(cov.gaps) - len(shown), "more gap")
                lines.append(f"\n{more}: `tf coverage --gaps --signature {cov.signature}`")
            lines.append("")
    return "\n".join(lines)


def _apart(cov: SignatureCoverage) -> str:
    """What is not counted, said beside the count: "; 3 pending review, 1 rejected"."""
    parts = [f"{cov.pending} pending review"] if cov.pending else []
    parts += [f"{cov.rejected} rejected"] if cov.rejected else []
    return "; " + ", ".join(parts) if parts else ""
