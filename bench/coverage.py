"""Benchmark `tf coverage` (DuckDB over JSONL) against pandas, in the same run.

    python bench/coverage.py N        (N examples; default 1,000,000)

Times the whole `tf coverage --format json` command over N validate_completeness examples
with the repository's params.yaml (every dimension, requirement, grid and the diversity
sample), and a pandas baseline that reads the JSONL with read_json(lines=True) and
computes the same bucket counts with groupby, on up to 100,000 examples. Goal (issue 3):
1,000,000 examples in under 3 s on a 2-core machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import SIGNATURE, make_examples, new_project, run_measured

BASELINE_MAX = 100_000


def pandas_groupby(path: Path) -> float:
    """Seconds for pandas to load the JSONL and count the same buckets."""
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_json(path, lines=True)
    outputs, inputs, metadata = frame["outputs"], frame["inputs"], frame["metadata"]
    missing = outputs.str.get("missing_requirements").str.len()
    required = inputs.str.get("requirements").str.len()
    complete = outputs.str.get("is_complete").astype(bool)
    frame["completion"] = "partial"
    frame.loc[missing * 2 > required, "completion"] = "barely"
    frame.loc[complete, "completion"] = "full"
    frame["difficulty"] = metadata.str.get("difficulty")
    frame["category"] = metadata.str.get("category")
    frame["source"] = metadata.str.get("source")
    for column in ("completion", "difficulty", "category", "source"):
        frame.groupby(column).size()
    frame.groupby(["completion", "difficulty"]).size()
    int((frame["category"] == "security").sum())
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        lines = make_examples(n)
        data = new_project(project, lines, params=True)
        size_mb = data.stat().st_size / 1e6
        baseline_n = min(n, BASELINE_MAX)
        subset = project / "subset.jsonl"
        subset.write_bytes(b"\n".join(lines[:baseline_n]) + b"\n")
        del lines

        command = [sys.executable, "-m", "tf_cli", "coverage", "--format", "json"]
        tf_seconds, tf_rss = min(run_measured(command, project) for _ in range(3))
        baseline_seconds = pandas_groupby(subset)

    tf_rate, baseline_rate = n / tf_seconds, baseline_n / baseline_seconds
    print(f"examples:          {n:,} ({size_mb:,.1f} MB of JSONL, {SIGNATURE})")
    print(f"tf coverage:       {tf_seconds:.2f} s ({tf_rate:,.0f} examples/s, whole command, "
          f"best of 3, peak {tf_rss / 1024:.0f} MiB)")
    print(f"pandas groupby:    {baseline_seconds:.2f} s for {baseline_n:,} "
          f"({baseline_rate:,.0f} examples/s)")
    print(f"ratio:             {tf_rate / baseline_rate:.1f}x pandas")


if __name__ == "__main__":
    main()
