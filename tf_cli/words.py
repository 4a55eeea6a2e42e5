"""Numbers in words, for every message people read: `plural(1, "example")` is "1 example",
`plural(2, "example")` "2 examples", `plural(1_500, "entry", "entries")` "1,500 entries"."""

from __future__ import annotations

from typing import TypeGuard


def score(value: float | None) -> str:
    """A dev score (percent) to one decimal, or "-" when none was measured (or when a report,
    which is in git, holds something that is not a number)."""
    return f"{value:.1f}" if is_number(value) else "-"


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or float, not a bool: what a number read from JSON in git must be."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n` with `word`, or with its plural (`many`, by default `word` + "s") unless n is 1."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"
