"""Benchmark `tf validate` against a loop over the `jsonschema` package, in the same run.

    python bench/validate.py N        (N valid examples; default 1,000,000)

Prints: tf's throughput (examples/s for the whole command, start-up included, and with
the start-up of `tf validate` on an empty project taken out), the jsonschema
loop's throughput on the same lines and schema, their ratio, peak memory of tf validate at
N/4 and at N examples (streaming: it should barely move), and `tf --help` start-up time.
Goals (issue 2): >= 150,000 examples/s on one core, >= 10x jsonschema, flat memory,
`tf --help` < 0.3 s.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import SIGNATURE, make_examples, new_project, one_core, run_measured

BASELINE_MAX = 20_000  # the jsonschema loop is timed on at most this many lines


def jsonschema_loop(project: Path, lines: list[bytes]) -> float:
    """Seconds for the jsonschema package to parse and validate `lines`, one by one."""
    import jsonschema
    import referencing

    schemas = project / "schemas"
    resources = [(p.name, referencing.Resource.from_contents(json.loads(p.read_text())))
                 for p in schemas.glob("*.schema.json")]
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads((schemas / f"{SIGNATURE}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    start = time.perf_counter()
    errors = 0
    for line in lines:
        errors += sum(1 for _ in validator.iter_errors(json.loads(line)))
    elapsed = time.perf_counter() - start
    assert errors == 0, f"baseline found {errors} errors in valid data"
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    tf = [sys.executable, "-m", "tf_cli", "validate"]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "full"
        lines = make_examples(n)
        data = new_project(project, lines)
        size_mb = data.stat().st_size / 1e6
        small, empty = Path(tmp) / "small", Path(tmp) / "empty"
        new_project(small, lines[: n // 4])
        new_project(empty)
        startup = min(run_measured(one_core(tf), empty)[0] for _ in range(3))
        tf_seconds, tf_rss = min(run_measured(one_core(tf), project) for _ in range(3))
        _, small_rss = run_measured(one_core(tf), small)
        baseline_n = min(n, BASELINE_MAX)
        baseline_seconds = jsonschema_loop(project, lines[:baseline_n])
        help_times = [run_measured([sys.executable, "-m", "tf_cli", "--help"], project)[0]
                      for _ in range(5)]

    tf_rate = n / tf_seconds
    baseline_rate = baseline_n / baseline_seconds
    print(f"examples:            {n:,} ({size_mb:,.1f} MB of JSONL, {SIGNATURE})")
    print(f"tf validate:         {tf_seconds:.2f} s  -> {tf_rate:,.0f} examples/s "
          f"(one core, whole command, best of 3)")
    print(f"  without start-up:  {startup:.2f} s start-up -> "
          f"{n / (tf_seconds - startup):,.0f} examples/s")
    print(f"jsonschema loop:     {baseline_seconds:.2f} s for {baseline_n:,} -> "
          f"{baseline_rate:,.0f} examples/s")
    print(f"ratio:               {tf_rate / baseline_rate:.1f}x jsonschema")
    print(f"peak memory:         {small_rss / 1024:.0f} MiB at {n // 4:,} examples, "
          f"{tf_rss / 1024:.0f} MiB at {n:,}")
    print(f"tf --help:           {statistics.median(help_times) * 1000:.0f} ms (median of 5)")
    if os.environ.get("BENCH_STRICT"):
        assert tf_rate >= 150_000 and tf_rate / baseline_rate >= 10


if __name__ == "__main__":
    main()
