"""Benchmark `tf import` of a CSV file against the least any importer does, in the same run.

    python bench/import_csv.py N        (N rows; default 100,000)

Times the whole `tf import` command (parse, map, convert by schema type, new ULID, schema
and rules check, duplicate check, one atomic append) and, as the baseline, a bare loop of
csv.DictReader + json.dumps per row with no checks at all. Goal (issue 4): 100,000 rows in
under 10 s.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from common import SIGNATURE, new_project, run_measured

HEADER = ["code", "reqs", "complete", "missing", "why", "difficulty", "category"]
MAP = {"code": "inputs.implementation", "reqs": "inputs.requirements",
       "complete": "outputs.is_complete", "missing": "outputs.missing_requirements",
       "why": "outputs.explanation"}


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(n):
            complete = i % 3 == 0
            writer.writerow([f"def handler_{i}(req):\n    return lookup(req.id) or not_found()",
                             "Return 404 for unknown ids;Log every request",
                             "true" if complete else "false",
                             "" if complete else "Log every request",
                             f"Explanation number {i} of what the handler does.",
                             ("easy", "medium", "hard")[i % 3], ("api", "database")[i % 2]])


def baseline(path: Path) -> float:
    start = time.perf_counter()
    with open(path, newline="") as f, open(path.with_suffix(".out"), "w") as out:
        for row in csv.DictReader(f):
            out.write(json.dumps(row) + "\n")
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        new_project(project)
        source = project / "rows.csv"
        write_csv(source, n)
        mapping = [arg for src, dest in MAP.items() for arg in ("--map", f"{src}={dest}")]
        command = [sys.executable, "-m", "tf_cli", "import", str(source), "-s", SIGNATURE,
                   *mapping]
        tf_seconds, rss = run_measured(command, project)
        lines = (project / "datasets" / SIGNATURE / "examples.jsonl").read_bytes().count(b"\n")
        assert lines == n, f"imported {lines} of {n}"
        base_seconds = baseline(source)
    print(f"rows:               {n:,}")
    print(f"tf import:          {tf_seconds:.2f} s ({n / tf_seconds:,.0f} rows/s, peak "
          f"{rss / 1024:.0f} MiB)")
    print(f"csv + json.dumps:   {base_seconds:.2f} s ({n / base_seconds:,.0f} rows/s, no checks)")
    print(f"ratio:              {tf_seconds / base_seconds:.1f}x the bare loop's time")


if __name__ == "__main__":
    main()
