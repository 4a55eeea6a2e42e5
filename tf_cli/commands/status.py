"""tf status: one table across signatures, and what to add next."""

from __future__ import annotations

from tf_cli import console
from tf_cli.commands import common


def command() -> None:
    """Readiness of every signature: counted examples by source, distance to target,
    examples waiting for review, synthetic share, diversity, and concrete recommendations."""
    from tf_cli.coverage import measure
    from tf_cli.render.tables import status_table
    from tf_cli.status import next_steps

    coverages = measure(common.project())
    out = console.tables()
    out.print(status_table(coverages))
    steps = next_steps(coverages)
    if steps:
        out.print("\nNext steps:")
        for step in steps:
            out.print(f"  - {step}", soft_wrap=True)
