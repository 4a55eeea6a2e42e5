"""Rich tables: `tf status` (readiness per signature) and `tf log` (history per commit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tf_cli.words import score

if TYPE_CHECKING:
    from rich.table import Table

    from tf_cli.coverage import SignatureCoverage
    from tf_cli.log import LogRow


def status_table(coverages: list[SignatureCoverage]) -> Table:
    from rich.table import Table

    table = Table(title="tf status", title_justify="left")
    table.add_column("signature", no_wrap=True)
    for column in ("examples", "ready", "sources", "pending", "rejected", "synthetic",
                   "diversity", "failing"):
        table.add_column(column, justify="left" if column == "sources" else "right")
    for cov in coverages:
        table.add_row(
            cov.signature, f"{cov.examples}/{cov.target_examples}",
            "yes" if cov.ready else f"no ({cov.not_ready_because})",
            ", ".join(f"{source} {count}" for source, count in cov.by_source.items()),
            str(cov.pending), str(cov.rejected), f"{cov.synthetic_share:.0%}",
            f"{cov.diversity:.2f}" if cov.diversity is not None else "-",
            f"{len(cov.failed_errors)} (+{len(cov.failed_warnings)} warn)")
    return table


def log_table(rows: list[LogRow]) -> Table:
    from rich.table import Table

    table = Table(title="tf log", title_justify="left")
    for column in ("commit", "date", "signature", "examples", "target", "optimized",
                   "baseline", "optimizer", "subject"):
        table.add_column(column, justify="right" if column in (
            "examples", "target", "optimized", "baseline") else "left")
    for r in rows:
        table.add_row(r.commit, r.date[:10], r.signature, str(r.examples), str(r.target),
                      score(r.optimized_score), score(r.baseline_score),
                      r.optimizer or "-", r.subject)
    return table
