"""Output streams: stdout carries data (pipe `--format json` into jq); stderr carries
diagnostics and progress. Rich consoles are created on first use."""

from __future__ import annotations

import sys
from functools import cache


@cache
def err():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


PIPED_WIDTH = 1000


@cache
def tables():
    """Console for tables on stdout. Piped (a CI log, a file, grep), it is as wide as the
    table needs, so a row stays one line; Rich would otherwise wrap cells at 80 columns.
    (Tables do not expand: 1,000 is a bound, not the width they take.)"""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else PIPED_WIDTH)


def error(message: str) -> None:
    from rich.text import Text

    err().print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def note(message: str, style: str = "") -> None:
    """A one-line diagnostic on stderr (summaries, hints)."""
    from rich.text import Text

    err().print(Text(message, style=style), soft_wrap=True)


def out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
