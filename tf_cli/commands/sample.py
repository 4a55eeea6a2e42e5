"""tf sample: a seeded random sample of examples for spot checks."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common


def command(
    signature: Annotated[str, typer.Option("--signature", "-s", help="The signature.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many examples.")] = 3,
    where: Annotated[str | None, typer.Option("--where", help="SQL filter over inputs.*, "
                                              "outputs.*, metadata.* (DuckDB).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same sample.")] = 0,
) -> None:
    """Print a seeded random sample of examples, optionally filtered by SQL."""
    import orjson

    from tf_cli.sample import sample

    project = common.project()
    chosen = sample(project, signature, n, where, seed)
    for item in chosen:
        console.out(f"# {project.display(item.path)}:{item.line}")
        console.out(orjson.dumps(item.record, option=orjson.OPT_INDENT_2).decode())
    console.note(f"{len(chosen)} examples (seed {seed})")
