"""summary stage: summary/summary.md across signatures, the data behind `dvc plots`, and
summary/report.html, the curator's page (tf report --html).

It reads what the other stages wrote in reports/<sig>/ (validate.json, balance.json,
optimize.json).
"""

from __future__ import annotations

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
from tf_cli.words import score


def summarize(project: Project, signatures: list[str]) -> str:
    lines = ["# tf pipeline summary", "",
             "| signature | pool | rejected | train | dev | diversity | optimizer | baseline |"
             " optimized | demos | LM calls |",
             "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    buckets, scores = [], []
    for name in signatures:
        validation = read_json(report_path(project, name, "validate"))
        balance = read_json(report_path(project, name, "balance"))
        result = read_json(report_path(project, name, OPTIMIZE_REPORT))
        lines.append(
            f"| {name} | {validation['accepted']} | {validation['rejected']} | "
            f"{balance['train']} | {balance['dev']} | {balance['train_diversity']} | "
            f"{result['optimizer']} | {score(result['baseline_score_percent'])} | "
            f"{score(result['optimized_score_percent'])} | {result['demos']} | "
            f"{result['lm_calls']} |")
        train_coverage = read_json(report_path(project, name, "train_coverage"))
        for dimension, counts in train_coverage.items():
            buckets += [{"signature": name, "cell": f"{name}/{dimension}={bucket}",
                         "count": count} for bucket, count in counts.items()]
        scores.append({"signature": name, "baseline": result["baseline_score_percent"] or 0,
                       "optimized": result["optimized_score_percent"] or 0})
    notes = [f"- {name}: {read_json(report_path(project, name, OPTIMIZE_REPORT))['reason']}"
             for name in signatures
             if read_json(report_path(project, name, OPTIMIZE_REPORT)).get("reason")]
    if notes:
        lines += ["", "Optimizer choices:", *notes]
    text = "\n".join(lines) + "\n"
    _write(summary_dir(project) / SUMMARY_FILE, text)
    _write_json_rows(summary_dir(project) / PLOTS_DIR / COVERAGE_PLOT_FILE, buckets)
    _write_json_rows(summary_dir(project) / PLOTS_DIR / SCORES_PLOT_FILE, scores)
    return text


def write_report_page(project: Project, html: str):
    """summary/report.html: the page `tf report --html` writes (tf_cli.report, drawn by
    tf_cli.render.html), for the pipeline's signatures. Not a DVC output (dvc.yaml says
    why). Returns its path."""
    path = report_page_path(project)
    _write(path, html)
    return path


def _write(path, text: str) -> None:
    with atomic_writer(path) as out:
        out.write(text.encode())


def _write_json_rows(path, rows: list[dict]) -> None:
    import orjson

    with atomic_writer(path) as out:
        out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
