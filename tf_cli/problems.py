"""A problem found in a project file, and how it is written for people and for tools."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, located as precisely as we can: file, line, JSON path."""

    path: str
    message: str
    line: int | None = None
    pointer: str | None = None
    rule: str | None = None
    # A configuration problem (broken schema or rules) rather than bad data: exit 2.
    config: bool = False

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        pointer = f" {self.pointer}:" if self.pointer else ""
        return f"{where}:{pointer} {self.message}"

    def to_json(self) -> dict:
        return asdict(self)


def json_path(parts: Iterable[str | int]) -> str:
    """["inputs", "requirements", 0] -> "$.inputs.requirements[0]"."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)
