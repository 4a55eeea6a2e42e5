"""tf status: one table across signatures, and what to add next."""

from __future__ import annotations

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import SignatureOption, TextOrJson, TextOrJsonFormat, print_json


def command(
    signature: SignatureOption = None,
    output_format: TextOrJsonFormat = TextOrJson.text,
) -> None:
    """Readiness of every signature: counted examples by source, distance to target,
    examples waiting for review, synthetic share, diversity, and concrete recommendations.
    --format json gives each signature's coverage, as `tf coverage --format json` does."""
    from tf_cli.coverage import measure

    coverages = measure(common.project(), [signature] if signature else None)
    if output_format is TextOrJson.json:
        from tf_cli.coverage.render import to_json

        print_json(to_json(coverages))
        return
    from tf_cli.render.tables import status_table
    from tf_cli.status import next_steps

    out = console.tables()
    out.print(status_table(coverages))
    steps = next_steps(coverages)
    if steps:
        out.print("\nNext steps:")
        for step in steps:
            out.print(f"  - {step}", soft_wrap=True)
