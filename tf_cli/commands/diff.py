"""tf diff: example-level changes between two revisions, with the coverage delta."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import SignatureOption, TextMarkdownJson, print_json


def command(
    base: Annotated[str | None, typer.Argument(
        metavar="BASE", help="Base revision (default: the merge base with main).",
        show_default=False)] = None,
    head: Annotated[str | None, typer.Argument(
        metavar="HEAD", help="Head revision (default: the working tree).",
        show_default=False)] = None,
    signature: SignatureOption = None,
    output_format: common.TextMarkdownJsonFormat = TextMarkdownJson.text,
) -> None:
    """Show added, removed and modified examples (keyed by id), changed fields, duplicate
    ids from merges, counts by source and how coverage moved."""
    from tf_cli.diff import diff
    from tf_cli.render.diff import markdown, text

    result = diff(common.project(), base, head, signature)
    if output_format is TextMarkdownJson.json:
        print_json(result.to_json())
    else:
        console.out(markdown(result) if output_format is TextMarkdownJson.markdown
                    else text(result))
