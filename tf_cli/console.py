"""Output streams: stdout carries data (pipe `--format json` into jq); stderr carries
diagnostics and progress. Rich consoles are created on first use.

Everything written here passes through `printable`: examples, bucket names and reports
come from pull requests, and a control character in them (ESC[2K ESC[1A erases the line
above; a carriage return overwrites this one) could forge or hide what a reviewer reads.
Tables are drawn without Rich markup, so "[/x]" in the data is text, not a tag.
"""

from __future__ import annotations

import sys
from functools import cache

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that
# reorder what a terminal shows ("Trojan Source"): shown as escapes, never sent as-is.
_UNPRINTABLE = {code: f"\\x{code:02x}" for code in
                [*range(0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0)]}
_UNPRINTABLE.update({code: f"\\u{code:04x}" for code in
                     [*range(0x202a, 0x202f), *range(0x2066, 0x206a), 0x200e, 0x200f,
                      0x061c, 0x2028, 0x2029]})  # and the marks and line separators


def printable(text: str) -> str:
    return text.translate(_UNPRINTABLE)


@cache
def _console_class():
    from rich.console import Console

    class DataConsole(Console):
        """A Console whose strings are text: no markup, no emoji codes, no control
        characters (str cells of a table are rendered through render_str)."""

        def render_str(self, text: str, **kwargs):
            kwargs.update(markup=False, emoji=False)
            return super().render_str(printable(text), **kwargs)

    return DataConsole


@cache
def err():
    return _console_class()(stderr=True, highlight=False, markup=False, emoji=False)


PIPED_WIDTH = 1000


@cache
def tables():
    """Console for tables on stdout. Piped (a CI log, a file, grep), it is as wide as the
    table needs, so a row stays one line; Rich would otherwise wrap cells at 80 columns.
    (Tables do not expand: 1,000 is a bound, not the width they take.)"""
    return _console_class()(highlight=False, markup=False, emoji=False,
                            width=None if sys.stdout.isatty() else PIPED_WIDTH)


def error(message: str) -> None:
    from rich.text import Text

    err().print(Text.assemble(("error: ", "bold red"), printable(message)), soft_wrap=True)


def note(message: str, style: str = "") -> None:
    """A one-line diagnostic on stderr (summaries, hints)."""
    from rich.text import Text

    err().print(Text(printable(message), style=style), soft_wrap=True)


def out(text: str) -> None:
    text = printable(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
