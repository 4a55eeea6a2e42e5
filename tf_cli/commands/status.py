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
    examples waiting for review, synthetic share, diversity; which examples and buckets help
    the optimized program most and least (the effect stage), harmful and low-value demos; and
    concrete recommendations. --format json gives each signature's coverage, as
    `tf coverage --format json` does, and under "effect" what the effect stage measured."""
    from tf_cli import effect
    from tf_cli.coverage import measure

    project = common.project()
    coverages = measure(project, [signature] if signature else None)
    effects = [effect.read(project, cov.signature) for cov in coverages]
    if output_format is TextOrJson.json:
        from tf_cli.coverage import to_json

        print_json({**to_json(coverages), "effect": [e.to_json() for e in effects]})
        return
    from tf_cli.render.tables import effect_table, status_table
    from tf_cli.status import next_steps

    out = console.tables()
    out.print(status_table(coverages))
    recorded = [e for e in effects if e.measured is not None or e.runs]
    if recorded:
        out.print(effect_table(recorded))
    steps = next_steps(coverages, effects)
    if steps:
        out.print("\nNext steps:")
        for step in steps:
            out.print(f"  - {step}", soft_wrap=True)
