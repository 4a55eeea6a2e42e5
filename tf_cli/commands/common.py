"""What commands share: the command's project, and options several of them take."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

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


class TextMarkdownJson(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


# One vocabulary for every command: -s/--signature NAME, -f/--format for the output
# (text, markdown, json: the same names everywhere), -n/--count N for how many.
TextOrJsonFormat = Annotated[
    TextOrJson,
    typer.Option("--format", "-f", help="Output: text for people, json for tools."),
]
TextMarkdownJsonFormat = Annotated[
    TextMarkdownJson,
    typer.Option("--format", "-f", help="Output: text for people, markdown for a pull "
                 "request, json for tools."),
]


def count_option(help: str) -> Any:
    """-n/--count N, at least 1."""
    return typer.Option("--count", "-n", min=1, metavar="N", help=help)


def known_signature(name: str | None) -> str | None:
    """The callback of every --signature: an unknown name is a usage error listing the
    known ones (exit 2), before the command runs, so no command can answer for a
    signature that does not exist."""
    return None if name is None else project().require_signature(name)


def signature_option(help: str) -> Any:
    """-s/--signature NAME, checked by `known_signature`."""
    return typer.Option("--signature", "-s", metavar="NAME", help=help,
                        callback=known_signature)


Signature = Annotated[str, signature_option("The signature.")]
SignatureOption = Annotated[str | None, signature_option("Only this signature (default: all).")]
Paths = Annotated[
    list[Path] | None,
    typer.Argument(metavar="PATH", help="Files or folders (default: every dataset and schema).",
                   show_default=False),
]
MaxLineBytes = Annotated[
    int,
    typer.Option("--max-line-bytes", min=1, metavar="BYTES",
                 help="Longest line accepted, in bytes."),
]


def read_line(prompt: str) -> str:
    """input(), asking again for a line that is not valid UTF-8 (Python hands its bytes over
    as surrogates, which no JSON file can hold)."""
    from tf_cli.console import error, printable

    while True:
        line = input(printable(prompt))  # prompts name schema fields: repository text
        if not any("\ud800" <= c <= "\udfff" for c in line):
            return line
        error("that line is not valid UTF-8 text; type it again")


class DSPyLog:
    """`with DSPyLog(project, signature, command):` DSPy's log records of the block go to
    reports/<sig>/<command>.log rather than between tf's own lines; at the end, one line
    on stderr names the file when DSPy wrote to it."""

    def __init__(self, project: Project, signature: str, command: str):
        from tf_cli.layout import log_path

        self.project, self.path = project, log_path(project, signature, command)

    def __enter__(self) -> DSPyLog:
        from tf_cli.lm import log_dspy_to

        self.restore = log_dspy_to(self.path)
        return self

    def __exit__(self, *exc) -> None:
        from tf_cli import console

        self.restore()
        if self.path.exists() and self.path.stat().st_size:
            console.note(f"DSPy's log: {self.project.display(self.path)}")


def print_json(data: dict) -> None:
    import orjson

    from tf_cli.console import out

    out(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


class _Argument(TyperArgument):
    """An argument as help shows it: its metavar alone (`FILE`, `[PATH]...`), never Typer's
    type label (`<list[Path]>`) or braces."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.metavar or (self.name or "").upper()
        name = name if self.required else f"[{name}]"
        return [name + ("..." if self.nargs != 1 else "")]


class Command(TyperCommand):
    """Every tf command: arguments shown by their metavar (see `_Argument`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                # Typer builds its own argument objects; this is the one place to
                # change how they are shown.
                param.__class__ = _Argument
