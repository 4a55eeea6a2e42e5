"""tf sample: a seeded random sample of examples for spot checks."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.words import plural


def command(
    signature: common.Signature,
    count: Annotated[int, common.count_option("How many examples.")] = 3,
    where: Annotated[str | None, typer.Option(
        "--where", metavar="SQL", help="SQL filter over inputs.*, outputs.*, metadata.* "
        "(DuckDB).")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Same seed, same sample.")] = 0,
) -> None:
    """Print a seeded random sample of examples, optionally filtered by SQL."""
    import orjson

    from tf_cli.sample import sample

    project = common.project()
    chosen = sample(project, signature, count, where, seed)
    for item in chosen:
        console.out(f"# {project.display(item.path)}:{item.line}")
        console.out(orjson.dumps(item.record, option=orjson.OPT_INDENT_2).decode())
    console.note(f"{plural(len(chosen), 'example')} (seed {seed})")
