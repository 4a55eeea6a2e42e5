"""tf status: one table across signatures, and what to add next."""

from __future__ import annotations

from tf_cli import console


def command() -> None:
    """Readiness of every signature: examples by source, distance to target, synthetic
    share, diversity, and concrete recommendations."""
    from rich.table import Table

    from tf_cli.coverage import measure
    from tf_cli.status import recommendations

    coverages = measure(console.project())
    table = Table(title="tf status", title_justify="left")
    table.add_column("signature", no_wrap=True)
    for column in ("examples", "ready", "sources", "synthetic", "diversity", "failing"):
        table.add_column(column, justify="left" if column == "sources" else "right")
    for cov in coverages:
        table.add_row(
            cov.signature, f"{cov.examples}/{cov.target_examples}",
            "yes" if cov.ready else f"no (<{cov.min_examples})",
            ", ".join(f"{source} {count}" for source, count in cov.by_source.items()),
            f"{cov.synthetic_share:.0%}",
            f"{cov.diversity:.2f}" if cov.diversity is not None else "-",
            f"{len(cov.failed_errors)} (+{len(cov.failed_warnings)} warn)")
    out = console.tables()
    out.print(table)
    steps = recommendations(coverages)
    if steps:
        out.print("\nNext steps:")
        for step in steps:
            out.print(f"  - {step}", soft_wrap=True)
