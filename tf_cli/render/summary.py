"""The summary stage's summary/summary.md: one table row per signature, then the
optimizer's reasons (tf_cli.pipeline.summary gathers them)."""

from __future__ import annotations

from tf_cli.pipeline.summary import Summary
from tf_cli.render.markdown import inline
from tf_cli.words import score


def _cell(value) -> str:
    """A value of a report (in git: the stages write it, a pull request can change it)."""
    return "-" if value is None else inline(value)


def markdown(summary: Summary) -> str:
    lines = ["# tf pipeline summary", "",
             "| signature | pool | rejected | train | dev | diversity | optimizer | baseline |"
             " optimized | demos | LM calls |",
             "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {r.signature} | {_cell(r.pool)} | {_cell(r.rejected)} | {_cell(r.train)} | "
              f"{_cell(r.dev)} | {_cell(r.train_diversity)} | {_cell(r.optimizer)} | "
              f"{score(r.baseline)} | {score(r.optimized)} | {_cell(r.demos)} | "
              f"{_cell(r.lm_calls)} |" for r in summary.rows]
    notes = [f"- {r.signature}: {inline(r.reason)}" for r in summary.rows if r.reason]
    if notes:
        lines += ["", "Optimizer choices:", *notes]
    return "\n".join(lines) + "\n"
