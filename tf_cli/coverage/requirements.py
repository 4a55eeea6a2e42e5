"""The kinds of coverage requirement, one class each: its keys in params.yaml, its label,
and how it is checked against the measured examples (the DuckDB query it needs, if any)
with the gaps it leaves.

`from_params` reads one entry of a `requirements` list (schemas/params.schema.json has
already checked its keys); `MinExamples` comes from a signature's `min_examples` instead.
Every requirement is evaluated against a `Measured`: the counts the engine computed once
per signature, and the `cov` view of the examples for the kinds that query it. Counts
needed are `int(...)` of the params value, since JSON Schema's integer admits 5.0.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tf_cli.coverage.gaps import (
    BucketGap,
    CellGap,
    Gap,
    NewBucketGap,
    ShareGap,
    SyntheticGap,
    TotalGap,
    WhereGap,
)
from tf_cli.layout import SYNTHETIC
from tf_cli.words import plural

NULL_BUCKET = "(none)"  # the bucket of an example whose dimension SQL gives NULL


# A grid's cells are every combination of its dimensions' buckets; far more than any data
# set fills, and each empty one is a gap held in memory (a pull request sets the buckets).
MAX_GRID_CELLS = 100_000


class TooBig(Exception):
    """A requirement that would need more cells than tf evaluates (the engine names the
    params.yaml line)."""


@dataclass(frozen=True)
class Measured:
    """One signature's counted examples, as requirements see them.

    `con` holds the view `cov`: one row per counted example, with a column `d_<name>` (the
    bucket) per dimension and `w_<i>` (matches or not) per entry of `wheres`.
    """

    con: Any  # a duckdb connection; duckdb is imported lazily, so it is not named here
    total: int
    by_source: dict[str, int]
    dimensions: dict[str, dict[str, int]]  # dimension -> bucket -> count
    declared: dict[str, tuple[str, ...]]  # dimension -> the buckets params.yaml lists
    wheres: tuple[str, ...]

    def count_where(self, where: str) -> int:
        # A filter listed twice has two equal columns; the first one is read.
        column = f"w_{self.wheres.index(where)}"
        return self.con.execute(f"SELECT count(*) FROM cov WHERE {column}").fetchone()[0]


@dataclass(frozen=True)
class Outcome:
    """What checking one requirement found."""

    passed: bool
    actual: float  # what was measured: a count or a share
    detail: str  # the measurement in words, e.g. "3 in difficulty = hard"
    gaps: tuple[Gap, ...] = ()
    # A grid's every cell, empty ones included: ({dimension: bucket}, count) in the order of
    # its axes (declared buckets first), for heatmaps (tf coverage --format json, tf report).
    cells: tuple[tuple[dict[str, str], int], ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Requirement(ABC):
    """One coverage requirement; a subclass per kind."""

    KIND: ClassVar[str]  # the `kind` of tf coverage --format json
    level: str  # error | warn
    name: str | None = None  # params.yaml's `name`, shown instead of the description
    # Its key path in params.yaml, e.g. ("coverage", "defaults", "requirements", 0), for
    # messages that give the line; () when it does not come from a requirements list.
    origin: tuple[str | int, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        return self.name or self.describe()

    @property
    @abstractmethod
    def expected(self) -> float:
        """The minimum count, or the maximum share, as params.yaml gives it."""

    @abstractmethod
    def describe(self) -> str:
        """The requirement in words, e.g. "difficulty = hard: at least 5"."""

    @abstractmethod
    def evaluate(self, measured: Measured) -> Outcome:
        """Whether the examples meet the requirement, and the gaps they leave."""

    def dimensions_used(self) -> tuple[str, ...]:
        """The dimensions the requirement names (each must be declared)."""
        return ()

    def subject(self) -> dict[str, str | None]:
        """The dimension and bucket the requirement is about, for the JSON report."""
        return {"dimension": None, "bucket": None}


@dataclass(frozen=True, kw_only=True)
class MinExamples(Requirement):
    """`min_examples` of a signature: the error gate for optimization."""

    KIND = "min_examples"
    minimum: int

    @property
    def expected(self) -> float:
        return self.minimum

    def describe(self) -> str:
        return f"at least {plural(self.minimum, 'example')}"

    def evaluate(self, measured: Measured) -> Outcome:
        total = measured.total
        need = int(self.minimum) - total
        gaps = (TotalGap(need, total, self.level, self.label),) if need > 0 else ()
        return Outcome(need <= 0, total, plural(total, "example"), gaps)


@dataclass(frozen=True, kw_only=True)
class SyntheticMaxShare(Requirement):
    """`synthetic_max_share`: at most this share of the examples is synthetic."""

    KIND = "synthetic_share"
    max_share: float

    @classmethod
    def from_params(cls, raw: dict) -> SyntheticMaxShare:
        return cls(level=raw["level"], name=raw.get("name"),
                   max_share=raw["synthetic_max_share"])

    @property
    def expected(self) -> float:
        return self.max_share

    def describe(self) -> str:
        return f"synthetic share at most {self.max_share:.0%}"

    def evaluate(self, measured: Measured) -> Outcome:
        synthetic = measured.by_source.get(SYNTHETIC, 0)
        return _share_outcome(self.max_share, synthetic, measured.total, "synthetic",
                              lambda need, have: SyntheticGap(need, have, self.level, self.label,
                                                              {"source": SYNTHETIC}))


@dataclass(frozen=True, kw_only=True)
class WhereMin(Requirement):
    """`where` and `min`: at least this many examples match a SQL filter."""

    KIND = "where"
    where: str
    minimum: int

    @classmethod
    def from_params(cls, raw: dict) -> WhereMin:
        return cls(level=raw["level"], name=raw.get("name"), where=raw["where"],
                   minimum=raw["min"])

    @property
    def expected(self) -> float:
        return self.minimum

    def describe(self) -> str:
        return f"where {self.where}: at least {self.minimum}"

    def evaluate(self, measured: Measured) -> Outcome:
        have = measured.count_where(self.where)
        need = int(self.minimum) - have
        gaps = (WhereGap(need, have, self.level, self.label, self.where),) if need > 0 else ()
        return Outcome(need <= 0, have, f"{have} match", gaps)


@dataclass(frozen=True, kw_only=True)
class Grid(Requirement):
    """`grid` and `min_per_cell`: every cell of the cross product of two or three
    dimensions (declared buckets and those seen) holds at least this many examples."""

    KIND = "grid"
    grid: tuple[str, ...]
    min_per_cell: int

    @classmethod
    def from_params(cls, raw: dict) -> Grid:
        return cls(level=raw["level"], name=raw.get("name"), grid=tuple(raw["grid"]),
                   min_per_cell=raw["min_per_cell"])

    @property
    def expected(self) -> float:
        return self.min_per_cell

    def describe(self) -> str:
        return f"{' x '.join(self.grid)}: at least {self.min_per_cell} per cell"

    def dimensions_used(self) -> tuple[str, ...]:
        return self.grid

    def evaluate(self, measured: Measured) -> Outcome:
        columns = ", ".join(f'coalesce("d_{d}", \'{NULL_BUCKET}\')' for d in self.grid)
        counts = {tuple(row[:-1]): row[-1] for row in measured.con.execute(
            f"SELECT {columns}, count(*) FROM cov GROUP BY ALL").fetchall()}
        axes = []
        for position, name in enumerate(self.grid):
            seen = sorted({cell[position] for cell in counts} - {NULL_BUCKET})
            declared = list(measured.declared[name])
            axes.append(declared + [b for b in seen if b not in declared])
        size = math.prod(len(axis) for axis in axes)
        if size > MAX_GRID_CELLS:  # each cell short of examples would be a gap in memory
            raise TooBig(f"{self.describe()}: {size:,} cells (buckets: "
                         f"{' x '.join(str(len(axis)) for axis in axes)}), over the "
                         f"{MAX_GRID_CELLS:,} tf checks; use dimensions with fewer buckets")
        gaps: list[Gap] = []
        cells = []
        for cell in itertools.product(*axes):
            have = counts.get(cell, 0)
            named = dict(zip(self.grid, cell, strict=True))
            cells.append((named, have))
            if have < self.min_per_cell:
                gaps.append(CellGap(int(self.min_per_cell) - have, have, self.level, self.label,
                                    named))
        return Outcome(not gaps, size - len(gaps),
                       f"{size - len(gaps)} of {plural(size, 'cell')} filled", tuple(gaps),
                       tuple(cells))


@dataclass(frozen=True, kw_only=True)
class DimensionRequirement(Requirement, ABC):
    """A requirement about the buckets of one dimension."""

    dimension: str

    def dimensions_used(self) -> tuple[str, ...]:
        return (self.dimension,)

    def subject(self) -> dict[str, str | None]:
        return {"dimension": self.dimension, "bucket": None}


@dataclass(frozen=True, kw_only=True)
class MinDistinct(DimensionRequirement):
    """`dimension` and `min_distinct`: examples in at least this many buckets."""

    KIND = "min_distinct"
    min_distinct: int

    @classmethod
    def from_params(cls, raw: dict) -> MinDistinct:
        return cls(level=raw["level"], name=raw.get("name"), dimension=raw["dimension"],
                   min_distinct=raw["min_distinct"])

    @property
    def expected(self) -> float:
        return self.min_distinct

    def describe(self) -> str:
        return f"{self.dimension}: at least {self.min_distinct} distinct"

    def evaluate(self, measured: Measured) -> Outcome:
        counts = measured.dimensions[self.dimension]
        present = [b for b, n in counts.items() if n and b != NULL_BUCKET]
        shortfall = int(self.min_distinct) - len(present)
        # Empty declared buckets first; what they cannot make up needs buckets not yet named.
        missing = [b for b in measured.declared[self.dimension] if not counts.get(b)]
        gaps: list[Gap] = [BucketGap(1, 0, self.level, self.label, {self.dimension: b})
                           for b in missing[:max(shortfall, 0)]]
        if shortfall > len(gaps):
            gaps.append(NewBucketGap(shortfall - len(gaps), len(present), self.level,
                                     self.label, self.dimension))
        return Outcome(shortfall <= 0, len(present),
                       f"{len(present)} distinct: " + ", ".join(present), tuple(gaps))


@dataclass(frozen=True, kw_only=True)
class MaxShare(DimensionRequirement):
    """`dimension` and `max_share` (and optionally `bucket`): that bucket, or else the
    largest one, holds at most this share of the examples."""

    KIND = "max_share"
    max_share: float
    bucket: str | None = None

    @classmethod
    def from_params(cls, raw: dict) -> MaxShare:
        return cls(level=raw["level"], name=raw.get("name"), dimension=raw["dimension"],
                   max_share=raw["max_share"], bucket=raw.get("bucket"))

    @property
    def expected(self) -> float:
        return self.max_share

    def describe(self) -> str:
        what = (f"{self.dimension} = {self.bucket}" if self.bucket
                else f"{self.dimension}: any bucket")
        return f"{what} at most {self.max_share:.0%}"

    def subject(self) -> dict[str, str | None]:
        return {"dimension": self.dimension, "bucket": self.bucket}

    def evaluate(self, measured: Measured) -> Outcome:
        counts = measured.dimensions[self.dimension]
        bucket = self.bucket or max(counts, key=lambda b: counts[b], default=None)
        have = counts.get(bucket, 0) if bucket is not None else 0
        # Without a bucket there are no examples, and a share of 0 always passes: the
        # empty `avoid` is never reported.
        avoid = {self.dimension: bucket} if bucket is not None else {}
        return _share_outcome(self.max_share, have, measured.total,
                              f"{self.dimension} = {bucket}",
                              lambda need, outside: ShareGap(need, outside, self.level,
                                                             self.label, avoid))


@dataclass(frozen=True, kw_only=True)
class BucketMin(DimensionRequirement):
    """`dimension`, `bucket` and `min`: at least this many examples in the bucket."""

    KIND = "bucket_min"
    bucket: str
    minimum: int

    @classmethod
    def from_params(cls, raw: dict) -> BucketMin:
        return cls(level=raw["level"], name=raw.get("name"), dimension=raw["dimension"],
                   bucket=raw["bucket"], minimum=raw["min"])

    @property
    def expected(self) -> float:
        return self.minimum

    def describe(self) -> str:
        return f"{self.dimension} = {self.bucket}: at least {self.minimum}"

    def subject(self) -> dict[str, str | None]:
        return {"dimension": self.dimension, "bucket": self.bucket}

    def evaluate(self, measured: Measured) -> Outcome:
        have = measured.dimensions[self.dimension].get(self.bucket, 0)
        need = int(self.minimum) - have
        gaps = (BucketGap(need, have, self.level, self.label, {self.dimension: self.bucket}),
                ) if need > 0 else ()
        return Outcome(need <= 0, have, f"{have} in {self.dimension} = {self.bucket}", gaps)


def from_params(raw: dict) -> Requirement:
    """The requirement one entry of a params.yaml `requirements` list describes: the first
    kind whose key it has (the schema allows one), else a bucket minimum."""
    for key, parse in _BY_KEY:
        if key in raw:
            return parse(raw)
    return BucketMin.from_params(raw)


_BY_KEY: tuple[tuple[str, Callable[[dict], Requirement]], ...] = (
    ("synthetic_max_share", SyntheticMaxShare.from_params), ("where", WhereMin.from_params),
    ("grid", Grid.from_params), ("min_distinct", MinDistinct.from_params),
    ("max_share", MaxShare.from_params))


def _share_outcome(max_share: float, have: int, total: int, what: str,
                   gap: Callable[[int, int], Gap]) -> Outcome:
    """At most `max_share` of `total` is `have`; `gap(need, outside)` makes the gap."""
    share = have / total if total else 0.0
    passed = share <= max_share + 1e-9
    gaps: tuple[Gap, ...] = ()
    if not passed:
        # Examples outside the bucket that bring its share down to the maximum.
        need = math.ceil(have / max_share - total) if max_share else have
        gaps = (gap(need, total - have),)
    return Outcome(passed, round(share, 4), f"{what} is {share:.0%} ({have} of {total})", gaps)
