"""Output streams: stdout carries data (pipe `--format json` into jq); stderr carries
diagnostics and progress. Rich consoles are created on first use.

Also the command's project: `tf -C DIR` sets where to look, and `project()` opens it once
per command, so every part of a command sees one params.yaml and one compiled schema."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tf_cli.project import Project, find_project


@dataclass
class _State:
    project_dir: Path | None = None
    project: Project | None = None


state = _State()


def start(project_dir: Path | None) -> None:
    """A new command begins (the root callback): forget the previous one's project."""
    state.project_dir, state.project = project_dir, None


def project() -> Project:
    if state.project is None:
        state.project = find_project(state.project_dir)
    return state.project


@cache
def err():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@cache
def tables():
    """Console for tables on stdout; wide when piped, so rows do not wrap in logs."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def error(message: str) -> None:
    from rich.text import Text

    err().print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def note(message: str, style: str = "") -> None:
    """A one-line diagnostic on stderr (summaries, hints)."""
    from rich.text import Text

    err().print(Text(message, style=style), soft_wrap=True)


def out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
