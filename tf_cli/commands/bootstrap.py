"""tf bootstrap: a teacher LM labels datasets/<sig>/prompts.jsonl into bootstrap.jsonl."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import TextOrJson, TextOrJsonFormat, print_json


def command(
    signature: common.Signature,
    count: Annotated[int | None, common.count_option("Label at most this many prompts "
                                                     "(default: all).")] = None,
    output_format: TextOrJsonFormat = TextOrJson.text,
) -> None:
    """Label input-only prompts with the configured LM; results wait for `tf review`.
    Exit 1 if there were prompts to label and none was accepted (each rejection, with the
    model's answer, is in reports/<sig>/bootstrap.rejects.jsonl)."""
    from tf_cli.bootstrap import bootstrap

    project = common.project()
    with common.DSPyLog(project, signature, "bootstrap"):
        summary = bootstrap(project, signature, count)
    data = summary.to_json()
    if output_format is TextOrJson.json:
        print_json(data)
    else:
        from tf_cli.render.generate import bootstrap_lines

        for line in bootstrap_lines(data, signature):
            console.out(line)
    if summary.attempted and not summary.accepted:
        raise typer.Exit(1)
