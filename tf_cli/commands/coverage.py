"""tf coverage: counts per bucket of every dimension, against params.yaml."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import SignatureOption, TextMarkdownJson, print_json


def command(
    signature: SignatureOption = None,
    gaps: Annotated[bool, typer.Option("--gaps", help="Only what is missing: buckets below "
                                       "their minimum and under-filled grid cells, most "
                                       "needed first.")] = False,
    output_format: common.TextMarkdownJsonFormat = TextMarkdownJson.text,
) -> None:
    """Show coverage per signature: bucket counts, requirements and gaps (DuckDB)."""
    from tf_cli.coverage import measure, to_json
    from tf_cli.render import coverage as render

    project = common.project()
    coverages = measure(project, [signature] if signature else None)
    if output_format is TextMarkdownJson.json:
        data = to_json(coverages)
        if gaps:
            for entry in data["signatures"]:
                entry.pop("dimensions"), entry.pop("requirements")
        print_json(data)
    elif output_format is TextMarkdownJson.markdown:
        console.out(render.markdown(coverages, gaps_only=gaps))
    else:
        out = console.tables()
        for shown in render.tables(coverages, gaps_only=gaps):
            # Lines are not wrapped, so a long one stays one line in logs.
            out.print(shown, soft_wrap=isinstance(shown, str))
