"""What commands share: the command's project, and options several of them take."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tf_cli.project import Project, find_project


@dataclass
class _Current:
    project_dir: Path | None = None  # tf -C DIR
    project: Project | None = None


_current = _Current()


def start(project_dir: Path | None) -> None:
    """A command begins (the root callback): look for the project from `project_dir`, and
    forget the previous command's project (tests run many commands in one process)."""
    _current.project_dir, _current.project = project_dir, None


def project() -> Project:
    """The command's project, opened once: every part of a command sees one params.yaml
    and one set of compiled schemas."""
    if _current.project is None:
        _current.project = find_project(_current.project_dir)
    return _current.project


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
