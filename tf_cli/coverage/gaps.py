"""Gaps: examples a requirement still lacks, one frozen type per kind of place they go.

Every gap says how many examples are needed (`need`), how many the requirement counts now
(`have`), its level and the label of the requirement it is for. Its type says where the
examples go: a known cell (`CellGap`, `BucketGap`), a bucket no example has yet
(`NewBucketGap`), a `where` filter (`WhereGap`), anywhere outside an over-full bucket
(`ShareGap`, `SyntheticGap`) or anywhere at all (`TotalGap`, `TargetGap`). `to_json` writes
the stable form documented in tf_cli.coverage.engine.to_json, where `kind` is the type's tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

# The place of a NewBucketGap: no declared bucket is left to name, any value new to the
# dimension will do.
NEW_BUCKET = "(a new bucket)"


@dataclass(frozen=True)
class Gap:
    """Examples still needed; a subclass says where."""

    KIND: ClassVar[str]  # the `kind` of tf coverage --format json
    need: int
    have: int
    level: str  # error | warn
    requirement: str  # label of the requirement (or of the target) the gap is for

    @property
    def place(self) -> str:
        """Where the examples are needed, in words: "completion = full, difficulty = hard"."""
        return "any kind"

    def to_json(self) -> dict:
        return {"kind": self.KIND, "need": self.need, "have": self.have, "level": self.level,
                "requirement": self.requirement, **self._place_json()}

    def _place_json(self) -> dict:
        return {}


@dataclass(frozen=True)
class TotalGap(Gap):
    """Examples of any kind: fewer than min_examples."""

    KIND = "total"


@dataclass(frozen=True)
class TargetGap(TotalGap):
    """Examples of any kind: fewer than target_examples (a warning, never a requirement)."""


@dataclass(frozen=True)
class CellGap(Gap):
    """Examples in one cell of a grid: dimension -> bucket for each of its dimensions."""

    KIND = "cell"
    cell: dict[str, str]

    @property
    def place(self) -> str:
        return ", ".join(f"{d} = {b}" for d, b in self.cell.items())

    def _place_json(self) -> dict:
        return {"cell": self.cell}


@dataclass(frozen=True)
class BucketGap(CellGap):
    """Examples in one bucket of one dimension (a cell of a single dimension)."""

    KIND = "bucket"


@dataclass(frozen=True)
class NewBucketGap(Gap):
    """Examples in buckets of a dimension that no example has and params.yaml does not
    list: only their number is known, not the buckets."""

    KIND = "distinct"
    dimension: str

    @property
    def place(self) -> str:
        return f"{self.dimension} = {NEW_BUCKET}"

    def _place_json(self) -> dict:
        return {"cell": {self.dimension: NEW_BUCKET}}


@dataclass(frozen=True)
class WhereGap(Gap):
    """Examples matching a `where` filter of params.yaml (DuckDB SQL)."""

    KIND = "where"
    where: str

    @property
    def place(self) -> str:
        return f"where {self.where}"

    def _place_json(self) -> dict:
        return {"where": self.where}


@dataclass(frozen=True)
class ShareGap(Gap):
    """Examples outside an over-full bucket, enough to bring its share down to the maximum."""

    KIND = "share"
    avoid: dict[str, str]  # dimension -> the over-full bucket

    @property
    def place(self) -> str:
        return "outside " + ", ".join(f"{d} = {b}" for d, b in self.avoid.items())

    def _place_json(self) -> dict:
        return {"avoid": self.avoid}


@dataclass(frozen=True)
class SyntheticGap(ShareGap):
    """Examples that are not synthetic, enough to bring the synthetic share down."""

    KIND = "synthetic"
