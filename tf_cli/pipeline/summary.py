"""summary stage: summary/summary.md across signatures, the data behind `dvc plots`, and
summary/report.html, the curator's page (tf report --html).

It reads what the other stages wrote in reports/<sig>/ (validate.json, balance.json,
optimize.json).
"""

from __future__ import annotations

from tf_cli.layout import report_path, summary_dir
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
        coverage = read_json(report_path(project, name, "balance"))
        result = read_json(report_path(project, name, "optimize"))
        lines.append(
            f"| {name} | {validation['accepted']} | {validation['rejected']} | "
            f"{coverage['train']} | {coverage['dev']} | {coverage['train_diversity']} | "
            f"{result['optimizer']} | {score(result['baseline_score_percent'])} | "
            f"{score(result['optimized_score_percent'])} | {result['demos']} | "
            f"{result['lm_calls']} |")
        train_coverage = read_json(report_path(project, name, "train_coverage"))
        for dimension, counts in train_coverage.items():
            buckets += [{"signature": name, "cell": f"{name}/{dimension}={bucket}",
                         "count": count} for bucket, count in counts.items()]
        scores.append({"signature": name, "baseline": result["baseline_score_percent"] or 0,
                       "optimized": result["optimized_score_percent"] or 0})
    notes = [f"- {name}: {read_json(report_path(project, name, 'optimize'))['reason']}"
             for name in signatures
             if read_json(report_path(project, name, "optimize")).get("reason")]
    if notes:
        lines += ["", "Optimizer choices:", *notes]
    text = "\n".join(lines) + "\n"
    _write(summary_dir(project) / "summary.md", text)
    _write_json_rows(summary_dir(project) / "plots" / "coverage.json", buckets)
    _write_json_rows(summary_dir(project) / "plots" / "scores.json", scores)
    return text


def write_html_report(project: Project, signatures: list[str]):
    """summary/report.html: the page `tf report --html` writes (tf_cli.report), for the
    pipeline's signatures. Not a DVC output (dvc.yaml says why). Returns its path."""
    from tf_cli.render.html import page
    from tf_cli.report import build

    path = summary_dir(project) / "report.html"
    _write(path, page(build(project, signatures)))
    return path


def _write(path, text: str) -> None:
    with atomic_writer(path) as out:
        out.write(text.encode())


def _write_json_rows(path, rows: list[dict]) -> None:
    import orjson

    with atomic_writer(path) as out:
        out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
