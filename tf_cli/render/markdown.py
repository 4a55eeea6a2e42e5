"""Repository text inside the Markdown a pull request shows (tf check, tf coverage, tf diff,
the summary stage): bucket names, requirement labels, ids and example text come from the
pull request, so none of it may become a heading, a table column, an HTML comment that
hides what follows, or a closed <details>."""

from __future__ import annotations

import re

from tf_cli.console import printable


def inline(value: object) -> str:
    """`value` as text on one line of Markdown: no HTML, no table pipe, no line break."""
    return (printable(str(value)).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("|", "\\|").replace("\n", "\\n"))


def code_block(lines: list[str]) -> list[str]:
    """`lines` as a fenced code block whose fence no line can close (CommonMark: a fence
    closes only with at least as many backticks as it opened with)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *(printable(line) for line in lines), fence]
