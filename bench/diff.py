"""Benchmark `tf diff` between two revisions of 100,000 examples that differ in 100.

    python bench/diff.py N        (N examples per revision; default 100,000)

Builds a Git repository with two commits (the second edits 50 examples, removes 25 and
adds 25), then times `tf diff BASE HEAD` (whole command, with the coverage delta) and
`git diff --stat BASE HEAD` on the same files, in the same run. Goal (issue 7): under 2 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SIGNATURE, make_examples, new_project

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True, env=GIT_ENV).stdout.strip()


def timed(command: list[str], cwd: Path) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        lines = make_examples(n + 25)
        data = new_project(repo, lines[:n], params=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "base")
        base = git(repo, "rev-parse", "HEAD")
        changed = list(lines[:n])
        for i in range(0, 50):
            record = json.loads(changed[i * 997])
            record["outputs"]["explanation"] += " Edited."
            changed[i * 997] = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        changed = changed[25:] + lines[n:]  # 25 removed at the start, 25 added at the end
        data.write_bytes(b"\n".join(changed) + b"\n")
        git(repo, "commit", "-q", "-am", "head")
        head = git(repo, "rev-parse", "HEAD")
        tf_seconds = timed([sys.executable, "-m", "tf_cli", "diff", base, head, "--format",
                            "json"], repo)
        out = subprocess.run([sys.executable, "-m", "tf_cli", "diff", base, head, "--format",
                              "json"], cwd=repo, capture_output=True, text=True, check=True)
        entry = next(s for s in json.loads(out.stdout)["signatures"]
                     if s["signature"] == SIGNATURE)
        git_seconds = timed(["git", "diff", "--stat", base, head], repo)
        size = data.stat().st_size / 1e6
    print(f"examples per revision: {n:,} ({size:,.0f} MB)")
    print(f"found:                 {len(entry['added'])} added, {len(entry['removed'])} "
          f"removed, {len(entry['modified'])} modified")
    print(f"tf diff:               {tf_seconds:.2f} s (whole command, coverage delta included,"
          " best of 3)")
    print(f"git diff --stat:       {git_seconds:.2f} s")
    print(f"ratio:                 {tf_seconds / git_seconds:.1f}x git diff --stat's time")


if __name__ == "__main__":
    main()
