"""The scaling figures (issue 16), each against a baseline timed in the same run.

    python bench/scale.py [--scale F] [--readme]

  validate  tf validate of 200,000 validate_completeness examples (1.9 KB lines), on every
            core, against an orjson parse loop of the same file on one core: goal >= 1.0x
            the parse rate; peak memory at a quarter of the file and at all of it.
  hook      the pre-commit hooks (tf validate --incremental, tf fmt --check --incremental)
            after one line of a 100,000-example file changed, against a full tf validate
            of it: goal <= 0.3 s.
  coverage  tf coverage --format json over 1,000,000 examples (890 MB), against pandas
            (read_json + groupby on 100,000, as a rate) and a bare DuckDB GROUP BY over the
            same JSONL: goal <= 1.5 s and >= 30x pandas.
  diff      tf diff between two 100,000-example revisions that differ in 100 examples,
            against git diff --stat: goal <= 1 s.

--scale multiplies every size (0.05 for a quick look: the goals are for 1.0). --readme
rewrites the table between the "scale-table" markers of README.md. Whole commands, best of
3, on a machine that may be busy: read the ratios first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, make_examples, new_project, one_core, run_measured

TF = [sys.executable, "-m", "tf_cli"]
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
LONG_LINES = (160, 220)  # words of code per example: about 1.9 KB a line


def best(command: list[str], cwd: Path, runs: int = 3) -> tuple[float, int]:
    return min(run_measured(command, cwd) for _ in range(runs))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True, env=GIT_ENV).stdout.strip()


def parse_loop_seconds(path: Path) -> float:
    """orjson parsing every line of the file, on one core, start-up excluded."""
    code = ("import orjson, sys, time\nt = time.perf_counter()\n"
            "with open(sys.argv[1], 'rb') as f:\n    for line in f: orjson.loads(line)\n"
            "print(time.perf_counter() - t)")
    runs = [float(subprocess.run(one_core([sys.executable, "-c", code, str(path)]),
                                 check=True, capture_output=True, text=True).stdout)
            for _ in range(3)]
    return min(runs)


def validate_figure(tmp: Path, n: int) -> dict:
    lines = make_examples(n, code_words=LONG_LINES)
    data = new_project(tmp / "validate", lines)
    quarter = new_project(tmp / "validate-quarter", lines[: n // 4])
    del lines
    parse = parse_loop_seconds(data)
    seconds, rss = best([*TF, "validate"], tmp / "validate")
    _, quarter_rss = run_measured([*TF, "validate"], tmp / "validate-quarter")
    one, _ = best(one_core([*TF, "validate"]), tmp / "validate")
    size = data.stat().st_size
    del quarter
    return {"figure": "validate", "n": n, "mb": size / 1e6, "seconds": seconds,
            "baseline": parse, "ratio": parse / seconds, "one_core": one,
            "rss_mib": rss / 1024, "quarter_rss_mib": quarter_rss / 1024,
            "goal": "tf validate >= 1.0x the parse rate (ratio = parse time / tf time)",
            "met": parse / seconds >= 1.0}


def hook_figure(tmp: Path, n: int) -> dict:
    repo = tmp / "hook"
    data = new_project(repo, make_examples(n))
    relative = str(data.relative_to(repo))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "data")
    full, _ = best([*TF, "validate", relative], repo)
    subprocess.run([*TF, "validate", "--incremental", relative], cwd=repo, check=True,
                   capture_output=True)  # the first run checks it all and records it
    hooks, fmts = [], []
    for attempt in range(3):  # one more line edited before each timed pair
        lines = data.read_bytes().split(b"\n")
        at = len(lines) // 2 + attempt * 7
        record = json.loads(lines[at])
        record["outputs"]["explanation"] += f" Edited {attempt}."
        lines[at] = json.dumps(record, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
        data.write_bytes(b"\n".join(lines))
        hooks.append(run_measured([*TF, "validate", "--incremental", relative], repo)[0])
        fmts.append(run_measured([*TF, "fmt", "--check", "--incremental", relative],
                                 repo)[0])
    hook, fmt = min(hooks), min(fmts)
    return {"figure": "hook", "n": n, "mb": data.stat().st_size / 1e6, "seconds": hook,
            "fmt_seconds": fmt, "baseline": full, "ratio": full / hook,
            "goal": "<= 0.3 s for tf validate --incremental", "met": hook <= 0.3}


def coverage_figure(tmp: Path, n: int) -> dict:
    root = tmp / "coverage"
    lines = make_examples(n)
    data = new_project(root, lines, params=True)
    subset = root / "subset.jsonl"
    baseline_n = min(n, 100_000)
    subset.write_bytes(b"\n".join(lines[:baseline_n]) + b"\n")
    del lines
    seconds, rss = best([*TF, "coverage", "--format", "json"], root)
    from coverage import pandas_groupby

    pandas = pandas_groupby(subset) * n / baseline_n  # as a rate, scaled to n
    floor = duckdb_group_by(data)
    empty = new_project(tmp / "coverage-empty", params=True).parent.parent.parent
    startup, _ = best([*TF, "coverage", "--format", "json"], empty)
    return {"figure": "coverage", "n": n, "mb": data.stat().st_size / 1e6,
            "seconds": seconds, "baseline": pandas, "ratio": pandas / seconds,
            "duckdb_floor": floor, "startup": startup, "rss_mib": rss / 1024,
            "goal": "<= 1.5 s and >= 30x pandas",
            "met": seconds <= 1.5 and pandas / seconds >= 30}


def duckdb_group_by(path: Path) -> float:
    """A bare DuckDB GROUP BY over the JSONL (auto-detected columns): what any tool built
    on DuckDB pays to read the file once, start-up included."""
    code = ("import duckdb, sys\n"
            "duckdb.sql(\"SELECT metadata.difficulty, count(*) FROM read_json('\" + sys.argv[1]"
            " + \"', format='newline_delimited') GROUP BY 1\").fetchall()")
    return min(run_measured([sys.executable, "-c", code, str(path)], path.parent)[0]
               for _ in range(3))


def diff_figure(tmp: Path, n: int) -> dict:
    repo = tmp / "diff"
    lines = make_examples(n + 25)
    data = new_project(repo, lines[:n], params=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    changed = list(lines[:n])
    for i in range(50):
        record = json.loads(changed[i * (n // 100)])
        record["outputs"]["explanation"] += " Edited."
        changed[i * (n // 100)] = json.dumps(record, sort_keys=True,
                                             separators=(",", ":")).encode()
    data.write_bytes(b"\n".join(changed[25:] + lines[n:]) + b"\n")
    git(repo, "commit", "-q", "-am", "head")
    seconds, _ = best([*TF, "diff", "HEAD~1", "HEAD", "--format", "json"], repo)
    stat, _ = best(["git", "diff", "--stat", "HEAD~1", "HEAD"], repo)
    return {"figure": "diff", "n": n, "mb": data.stat().st_size / 1e6, "seconds": seconds,
            "baseline": stat, "ratio": seconds / stat, "goal": "<= 1 s",
            "met": seconds <= 1.0}


def table(results: list[dict], command: str) -> str:
    rows = ["| work | tf | baseline, same run | goal | met |", "|---|---|---|---|---|"]
    for r in results:
        if r["figure"] == "validate":
            work = f"`tf validate`, {r['n']:,} examples ({r['mb']:,.0f} MB)"
            tf = (f"{r['seconds']:.2f} s on every core ({r['one_core']:.2f} s on one); "
                  f"peak {r['quarter_rss_mib']:.0f} MiB at a quarter, {r['rss_mib']:.0f} "
                  "MiB at all")
            base = f"orjson parse loop, one core: {r['baseline']:.2f} s -> {r['ratio']:.2f}x"
            goal = ">= 1.0x the parse rate"
        elif r["figure"] == "hook":
            work = f"pre-commit hooks, 1 line changed in {r['n']:,} examples ({r['mb']:,.0f} MB)"
            tf = (f"`tf validate --incremental` {r['seconds']:.2f} s, "
                  f"`tf fmt --check --incremental` {r['fmt_seconds']:.2f} s")
            base = f"full `tf validate`: {r['baseline']:.2f} s ({r['ratio']:.1f}x)"
            goal = "<= 0.3 s"
        elif r["figure"] == "coverage":
            work = f"`tf coverage --format json`, {r['n']:,} examples ({r['mb']:,.0f} MB)"
            tf = (f"{r['seconds']:.2f} s, peak {r['rss_mib']:.0f} MiB (of which "
                  f"{r['startup']:.2f} s the same command on no data)")
            base = (f"pandas (rate of 100,000): {r['baseline']:.1f} s -> {r['ratio']:.0f}x; "
                    f"bare DuckDB GROUP BY: {r['duckdb_floor']:.2f} s")
            goal = "<= 1.5 s, >= 30x pandas"
        else:
            work = f"`tf diff`, two revisions of {r['n']:,} examples ({r['mb']:,.0f} MB)"
            tf = f"{r['seconds']:.2f} s"
            base = f"`git diff --stat`: {r['baseline']:.2f} s ({r['ratio']:.1f}x its time)"
            goal = "<= 1 s"
        rows.append(f"| {work} | {tf} | {base} | {goal} | {'yes' if r['met'] else 'no'} |")
    return "\n".join(rows) + f"\n\nPrinted by `{command}` on {time.strftime('%Y-%m-%d')}, " \
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--readme", action="store_true")
    parser.add_argument("--only", choices=["validate", "hook", "coverage", "diff"],
                        action="append")
    args = parser.parse_args()
    sizes = {"validate": 200_000, "hook": 100_000, "coverage": 1_000_000, "diff": 100_000}
    figures = {"validate": validate_figure, "hook": hook_figure, "coverage": coverage_figure,
               "diff": diff_figure}
    results = []
    for name in args.only or list(figures):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = figures[name](Path(tmp), max(100, int(sizes[name] * args.scale)))
            print(f"{name}: {json.dumps(result)} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr)
            results.append(result)
    command = "python bench/scale.py" + (f" --scale {args.scale}" if args.scale != 1 else "")
    text = table(results, command)
    print(text)
    if args.readme:
        readme = REPO / "README.md"
        marked = re.compile(r"(<!-- scale-table -->\n).*?(<!-- /scale-table -->)", re.S)
        old = readme.read_text()
        if not marked.search(old):
            raise SystemExit("README.md has no <!-- scale-table --> markers")
        readme.write_text(marked.sub(lambda m: m.group(1) + text + m.group(2), old))


if __name__ == "__main__":
    main()
