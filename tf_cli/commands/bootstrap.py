"""tf bootstrap: a teacher LM labels datasets/<sig>/prompts.jsonl into bootstrap.jsonl."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli.commands import common
from tf_cli.commands.common import print_json


def command(
    signature: Annotated[str, typer.Option("--signature", "-s", help="The signature.")],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Label at most this "
                                              "many prompts.")] = None,
) -> None:
    """Label input-only prompts with the configured LM; results wait for `tf review`."""
    from tf_cli.bootstrap import bootstrap

    summary = bootstrap(common.project(), signature, limit)
    print_json(summary.to_json())
    if summary.prompts and not summary.accepted and not summary.already_labelled:
        raise typer.Exit(1)
