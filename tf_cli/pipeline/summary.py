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
from tf_cli.pipeline import read_json
from tf_cli.project import Project
from tf_cli.records import atomic_writer


@dataclass(frozen=True)
class SignatureRow:
    """One signature's line of the summary, from its step reports."""

    signature: str
    pool: int
    rejected: int
    train: int
    dev: int
    train_diversity: float | None
    optimizer: str
    baseline: float | None  # percent
    optimized: float | None  # percent
    demos: int
    lm_calls: int
    reason: str | None  # why optimize chose (or fell back to) its optimizer


@dataclass
class Summary:
    rows: list[SignatureRow] = field(default_factory=list)
    buckets: list[dict] = field(default_factory=list)  # plots/coverage.json: train counts
    scores: list[dict] = field(default_factory=list)  # plots/scores.json: per signature


def gather(project: Project, signatures: list[str]) -> Summary:
    summary = Summary()
    for name in signatures:
        validation = read_json(report_path(project, name, "validate"))
        balance = read_json(report_path(project, name, "balance"))
        result = read_json(report_path(project, name, OPTIMIZE_REPORT))
        summary.rows.append(SignatureRow(
            name, validation["accepted"], validation["rejected"], balance["train"],
            balance["dev"], balance["train_diversity"], result["optimizer"],
            result["baseline_score_percent"], result["optimized_score_percent"],
            result["demos"], result["lm_calls"], result.get("reason")))
        train_coverage = read_json(report_path(project, name, "train_coverage"))
        for dimension, counts in train_coverage.items():
            summary.buckets += [{"signature": name, "cell": f"{name}/{dimension}={bucket}",
                                 "count": count} for bucket, count in counts.items()]
        summary.scores.append({"signature": name,
                               "baseline": result["baseline_score_percent"] or 0,
                               "optimized": result["optimized_score_percent"] or 0})
    return summary


def write_outputs(project: Project, summary: Summary, markdown: str, page: str) -> Path:
    """summary/summary.md, summary/plots/*.json and summary/report.html (the page
    `tf report --html` writes; not a DVC output, dvc.yaml says why). Returns the page's
    path."""
    import orjson

    folder = summary_dir(project)
    _write(folder / SUMMARY_FILE, markdown.encode())
    for name, rows in ((COVERAGE_PLOT_FILE, summary.buckets), (SCORES_PLOT_FILE, summary.scores)):
        _write(folder / PLOTS_DIR / name, orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
    _write(report_page_path(project), page.encode())
    return report_page_path(project)


def _write(path: Path, data: bytes) -> None:
    with atomic_writer(path) as out:
        out.write(data)
