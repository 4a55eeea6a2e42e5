"""Spreading new examples over capped dimensions, so adding data cannot break a cap.

An error-level `max_share` is the one kind of requirement that more examples can break:
40 bootstrapped prompts all labelled `difficulty: medium` push medium over its share. New
examples whose bucket on such a dimension is not given get the least filled bucket, one
at a time, counting what each earlier assignment added.
"""

from __future__ import annotations

import re
from collections import Counter

from tf_cli.coverage.engine import SignatureCoverage
from tf_cli.coverage.requirements import MaxShare
from tf_cli.coverage.spec import CoverageSpec

_METADATA_FIELD = re.compile(r"^\s*metadata\.(\w+)\s*$")


def capped_dimensions(spec: CoverageSpec) -> list[str]:
    """Dimensions with declared buckets that an error-level max_share caps, sorted."""
    return sorted({r.dimension for r in spec.requirements
                   if isinstance(r, MaxShare) and r.level == "error"
                   and spec.dimensions[r.dimension].buckets})


def metadata_field(spec: CoverageSpec, dimension: str) -> str | None:
    """The metadata field a dimension is, when its SQL is just `metadata.<field>`."""
    match = _METADATA_FIELD.match(spec.dimensions[dimension].sql)
    return match.group(1) if match else None


def spread(spec: CoverageSpec, coverage: SignatureCoverage, cells: list[dict[str, str]],
           dimensions: list[str] | None = None) -> None:
    """Give every cell without a bucket on a capped dimension the least filled one."""
    for name in capped_dimensions(spec) if dimensions is None else dimensions:
        counts = Counter({b: coverage.dimensions.get(name, {}).get(b, 0)
                          for b in spec.dimensions[name].buckets})
        for cell in cells:
            if name in cell:
                counts[cell[name]] += 1
        for cell in cells:
            if name not in cell:
                bucket = min(counts, key=lambda b: (counts[b], b))
                cell[name] = bucket
                counts[bucket] += 1
