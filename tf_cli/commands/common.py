"""Options shared by several commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class TextOrJson(StrEnum):
    text = "text"
    json = "json"


Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="Files or folders (default: every dataset and schema).",
                   show_default=False),
]
MaxLineBytes = Annotated[
    int,
    typer.Option("--max-line-bytes", min=1, help="Longest line accepted, in bytes."),
]


def print_json(data: dict) -> None:
    import orjson

    from tf_cli.console import out

    out(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


SignatureOption = Annotated[
    str | None,
    typer.Option("--signature", "-s", help="Only this signature (default: all)."),
]
