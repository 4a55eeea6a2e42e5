"""tf status: one table across signatures, and what to add next."""

from __future__ import annotations

from tf_cli import console


def command() -> None:
    """Readiness of every signature: counted examples by source, distance to target,
    examples waiting for review, synthetic share, diversity, and concrete recommendations."""
    from rich.table import Table

    from tf_cli.coverage import measure
    from tf_cli.status import recommendations

    coverages = measure(console.project())
    table = Table(title="tf status", title_justify="left")
    table.add_column("signature", no_wrap=True)
    for column in ("examples", "ready", "sources", "pending", "rejected", "synthetic",
                   "diversity", "failing"):
        table.add_column(column, justify="left" if column == "sources" else "right")
    for cov in coverages:
        table.add_row(
            cov.signature, f"{cov.examples}/{cov.target_examples}",
            "yes" if cov.ready else f"no (<{cov.min_examples})",
            ", ".join(f"{source} {count}" for source, count in cov.by_source.items()),
            str(cov.pending), str(cov.rejected), f"{cov.synthetic_share:.0%}",
            f"{cov.diversity:.2f}" if cov.diversity is not None else "-",
            f"{len(cov.failed_errors)} (+{len(cov.failed_warnings)} warn)")
    out = console.tables()
    out.print(table)
    steps = recommendations(coverages)
    waiting = [cov for cov in coverages if cov.pending]
    steps += [f"review {cov.pending} pending example{'s' if cov.pending != 1 else ''} of "
              f"{cov.signature}: tf review --signature {cov.signature}" for cov in waiting]
    if steps:
        out.print("\nNext steps:")
        for step in steps:
            out.print(f"  - {step}", soft_wrap=True)
