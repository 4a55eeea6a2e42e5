"""The summary stage's summary/summary.md: one table row per signature, then the
optimizer's reasons (tf_cli.pipeline.summary gathers them)."""

from __future__ import annotations

from tf_cli.pipeline.summary import Summary
from tf_cli.words import score


def markdown(summary: Summary) -> str:
    lines = ["# tf pipeline summary", "",
             "| signature | pool | rejected | train | dev | diversity | optimizer | baseline |"
             " optimized | demos | LM calls |",
             "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {r.signature} | {r.pool} | {r.rejected} | {r.train} | {r.dev} | "
              f"{r.train_diversity} | {r.optimizer} | {score(r.baseline)} | "
              f"{score(r.optimized)} | {r.demos} | {r.lm_calls} |" for r in summary.rows]
    notes = [f"- {r.signature}: {r.reason}" for r in summary.rows if r.reason]
    if notes:
        lines += ["", "Optimizer choices:", *notes]
    return "\n".join(lines) + "\n"
