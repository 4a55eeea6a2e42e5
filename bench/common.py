"""Shared by the benchmarks: generated examples and measured subprocess runs."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIGNATURE = "validate_completeness"
WORDS = ("cache token request retry index user order session limit queue lock audit "
         "header page export import email invoice tenant shard replica timeout").split()


def make_examples(n: int, seed: int = 7, code_words: tuple[int, int] = (20, 60)) -> list[bytes]:
    """n valid examples of SIGNATURE; about 890 bytes a line with the default code length,
    1.9 KB with code_words=(160, 220)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        reqs = [" ".join(rng.choices(WORDS, k=rng.randint(4, 9))).capitalize()
                for _ in range(rng.randint(2, 5))]
        missing = rng.sample(reqs, rng.randint(0, len(reqs) - 1))
        example = {
            "id": f"01K{i:023d}",
            "inputs": {"implementation": "def handler(req):\n    " +
                       " ".join(rng.choices(WORDS, k=rng.randint(*code_words))),
                       "requirements": reqs},
            "outputs": {"is_complete": not missing, "missing_requirements": missing,
                        "explanation": " ".join(rng.choices(WORDS, k=rng.randint(10, 30)))},
            "metadata": {"source": "synthetic", "difficulty": rng.choice(["easy", "medium",
                                                                          "hard"]),
                         "category": rng.choice(["api", "database", "caching", "security"]),
                         "created_at": "2026-11-23T10:00:00Z"},
        }
        lines.append(json.dumps(example, sort_keys=True, separators=(",", ":")).encode())
    return lines


def one_core(command: list[str]) -> list[str]:
    return ["taskset", "-c", "0", *command] if shutil.which("taskset") else command


def run_measured(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one command, measured from a fresh parent."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "print(time.perf_counter() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")
    out = subprocess.run([sys.executable, "-c", probe, *command], cwd=cwd, check=True,
                         capture_output=True, text=True).stdout.split()
    if out[2] != "0":
        raise SystemExit(f"{' '.join(command)} exited {out[2]}")
    return float(out[0]), int(out[1])


def new_project(root: Path, lines: list[bytes] = (), params: bool = False) -> Path:
    """A tf project at `root` with the repository's schemas (and params.yaml), holding
    `lines` as the examples of SIGNATURE; returns the data file."""
    shutil.copytree(REPO / "schemas", root / "schemas")
    if params:  # the settings and the coverage requirements (dimensions, grids)
        shutil.copy(REPO / "params.yaml", root / "params.yaml")
        shutil.copy(REPO / "coverage.yaml", root / "coverage.yaml")
    data = root / "datasets" / SIGNATURE / "examples.jsonl"
    data.parent.mkdir(parents=True)
    if lines:
        data.write_bytes(b"\n".join(lines) + b"\n")
    return data
