"""summary stage: what the other stages reported, across signatures, for summary/summary.md,
the data behind `dvc plots`, and summary/report.html (tf report --html).

It reads reports/<sig>/ (validate.json, balance.json, train_coverage.json, optimize.json);
tf_cli.render.summary draws the Markdown, tf_cli.render.html the page, and stages/summary.py
writes them with `write_outputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tf_cli.layout import (
    COVERAGE_PLOT_FILE,
    OPTIMIZE_REPORT,
    PLOTS_DIR,
    SCORES_PLOT_FILE,
    SUMMARY_FILE,
    report_page_path,
    report_path,
    summary_dir,
)
from tf_cli.project import Project
from tf_cli.records import atomic_writer
from tf_cli.words import is_number


@dataclass(frozen=True)
class SignatureRow:
    """One signature's line of the summary, from its step reports."""

    signature: str
    pool: int | None  # None: the report does not say (each is read from git)
    rejected: int | None
    train: int | None
    dev: int | None
    train_diversity: float | None
    optimizer: str | None
    baseline: float | None  # percent
    optimized: float | None  # percent
    demos: int | None
    lm_calls: int | None
    reason: str | None  # why optimize chose (or fell back to) its optimizer


@dataclass
class Summary:
    rows: list[SignatureRow] = field(default_factory=list)
    buckets: list[dict] = field(default_factory=list)  # plots/coverage.json: train counts

    @property
    def scores(self) -> list[dict]:
        """plots/scores.json: baseline and optimized per signature (0 when not measured)."""
        return [{"signature": r.signature, "baseline": r.baseline or 0,
                 "optimized": r.optimized or 0} for r in self.rows]


def gather(project: Project, signatures: list[str]) -> Summary:
    summary = Summary()
    for name in signatures:
        validation = _report(project, name, "validate")
        balance = _report(project, name, "balance")
        result = _report(project, name, OPTIMIZE_REPORT)
        summary.rows.append(SignatureRow(
            name, _number(validation, "accepted"), _number(validation, "rejected"),
            _number(balance, "train"), _number(balance, "dev"),
            _number(balance, "train_diversity"), _text(result, "optimizer"),
            _number(result, "baseline_score_percent"),
            _number(result, "optimized_score_percent"), _number(result, "demos"),
            _number(result, "lm_calls"), _text(result, "reason")))
        for dimension, counts in _report(project, name, "train_coverage").items():
            if isinstance(counts, dict):
                summary.buckets += [{"signature": name, "cell": f"{name}/{dimension}={bucket}",
                                     "count": count} for bucket, count in counts.items()
                                    if is_number(count)]
    return summary


def _report(project: Project, signature: str, step: str) -> dict:
    """reports/<sig>/<step>.json as the stage wrote it; the file is in git, so anything
    else (a link, a huge file: refused; not JSON, not an object) reads as no report."""
    from tf_cli.effect import read_report

    return read_report(project, report_path(project, signature, step)) or {}


def _number(report: dict, key: str):
    value = report.get(key)
    return value if is_number(value) else None


def _text(report: dict, key: str) -> str | None:
    value = report.get(key)
    return value if isinstance(value, str) else None


def write_outputs(project: Project, summary: Summary, markdown: str, page: str) -> Path:
    """summary/summary.md, summary/plots/*.json and summary/report.html (the page
    `tf report --html` writes; not a DVC output, dvc.yaml says why). Returns the page's
    path."""
    import orjson

    folder, page_path = summary_dir(project), report_page_path(project)
    _write(folder / SUMMARY_FILE, markdown.encode())
    for name, rows in ((COVERAGE_PLOT_FILE, summary.buckets), (SCORES_PLOT_FILE, summary.scores)):
        _write(folder / PLOTS_DIR / name, orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
    _write(page_path, page.encode())
    return page_path


def _write(path: Path, data: bytes) -> None:
    with atomic_writer(path) as out:
        out.write(data)
