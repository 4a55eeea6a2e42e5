"""`kill -9` at random moments across import, fmt, review and generate (8 in make test;
TF_CRASH_TRIALS and TF_CRASH_SEED for a longer hunt): after each, the
data validates and no example is lost or duplicated. Each moment is drawn from the
lifetime of a full run of the same command, timed first. Real processes: a kill is the
point. (Most of its time is those processes and tf's validation after each kill; the
snapshots of the data before and after are parsed with orjson.)"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.conftest import GIT_ENV, run_tf
from tests.lm_server import LMServer, completeness_example
from tf_cli.project import Project
from tf_cli.records import write_records
from tf_cli.validate import validate

SIG = "validate_completeness"
# 2 per command; TF_CRASH_TRIALS=200 pytest tests/cli/test_crash.py for a longer hunt
TRIALS = int(os.environ.get("TF_CRASH_TRIALS", "8"))
PARAMS = f"""\
coverage:
  signatures:
    {SIG}:
      min_examples: 1
      target_examples: 10
      dimensions:
        completion:
          sql: >-
            CASE WHEN outputs.is_complete THEN 'full'
                 WHEN len(outputs.missing_requirements) * 2 > len(inputs.requirements)
                 THEN 'barely' ELSE 'partial' END
          buckets: [full, partial, barely]
        difficulty:
          sql: metadata.difficulty
          buckets: [easy, medium, hard]
lm:
  num_threads: 1
  cache: false
"""


def record(n: int, source: str, review: str | None = None) -> dict:
    # numbered far from the test server's own examples (1, 2, ...), which generate adds
    made = completeness_example(1_000_000 + n,
                                {"completion": ("full", "partial", "barely")[n % 3]})
    metadata = {"source": source, "difficulty": ("easy", "medium", "hard")[n % 3],
                "category": "api", "created_at": "2026-11-20T10:00:00Z"}
    if review:
        metadata["review"] = {"status": review}
    return {"id": f"01JE3{n:021d}", "inputs": made["inputs"], "outputs": made["outputs"],
            "metadata": metadata}


def snapshot(folder: Path) -> dict[str, list[dict]]:
    """file name -> its records (every line must parse: validate has checked it)."""
    return {p.name: [orjson.loads(x) for x in p.read_bytes().splitlines()]  # ~3,000 a run
            for p in sorted(folder.glob("*.jsonl"))}


def placements(files: dict[str, list[dict]]) -> dict[str, list[tuple[str, str]]]:
    """id -> [(file, review status), ...]."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name, records in files.items():
        for r in records:
            status = r["metadata"].get("review", {}).get("status", "curated")
            found.setdefault(r["id"], []).append((name, status))
    return found


def check_nothing_lost_or_duplicated(before: dict, after: dict, trial: str) -> None:
    was, now = placements(before), placements(after)
    lost = sorted(set(was) - set(now))
    assert not lost, f"{trial}: examples lost: {lost[:3]}"
    for example_id, copies in now.items():
        counted = [c for c in copies if c[1] != "pending"]
        stale = [c for c in copies if c[1] == "pending"]
        # one copy; or an approval cut between its append and its removal: the approved
        # copy in examples.jsonl counts, the pending one is stale and counts nowhere
        assert len(copies) == 1 or (counted == [("examples.jsonl", "approved")]
                                    and len(stale) == len(copies) - 1), \
            f"{trial}: {example_id} is in {copies}"
    curated = [r for r in after.get("examples.jsonl", [])]
    inputs = Counter(json.dumps(r["inputs"], sort_keys=True) for r in curated)
    assert max(inputs.values(), default=1) == 1, f"{trial}: duplicated inputs"


def run_killed(args: list[str], cwd: Path, env: dict, delay: float) -> bool:
    """Start `tf ARGS`, SIGKILL it after `delay` s; True when it was killed mid-run. A run
    that ends by itself must have succeeded."""
    process = subprocess.Popen([sys.executable, "-m", "tf_cli", *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)  # small outputs: pipes never fill
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True
    stderr = process.stderr.read().decode()
    stdout = process.stdout.read().decode()
    assert process.returncode == 0 and "Traceback" not in stderr, (args, stderr, stdout)
    return False


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_duplicates_nothing(project: Path):
    rng = random.Random(int(os.environ.get("TF_CRASH_SEED", "20261201")))
    (project / "params.yaml").write_text(PARAMS)
    folder = project / "datasets" / SIG
    write_records(folder / "examples.jsonl", [record(n, "manual") for n in range(1, 2001)])
    write_records(folder / "synthetic.jsonl",
                  [record(n, "synthetic", "pending") for n in range(2001, 3001)])
    with LMServer() as server:
        server.state.delay = 0.05
        env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "TF_LM_MODEL": "openai/test-model",
               "TF_LM_API_BASE": server.api_base,
               "DSPY_CACHEDIR": str(project / ".dspy_cache")}
        next_row = 2_000_000

        def operation(kind: str, trial: int) -> list[str]:
            nonlocal next_row
            if kind == "import":
                rows = [completeness_example(next_row + i, {}) for i in range(300)]
                next_row += 300
                (project / "rows.jsonl").write_text("".join(
                    json.dumps({**r, "metadata": {"difficulty": r.pop("difficulty"),
                                                  "category": r.pop("category")}}) + "\n"
                    for r in rows))
                return ["import", "rows.jsonl", "-s", SIG]
            if kind == "fmt":  # give fmt work: the same records, not canonical
                path = folder / "examples.jsonl"
                text = [json.loads(x) for x in path.read_bytes().splitlines()]
                path.write_text("".join(json.dumps(r) + "\n" for r in text))
                return ["fmt"]
            if kind == "review":
                return ["review", "-s", SIG, "--approve-all", "--where",
                        f"right(id, 1) = '{trial % 10}'"]
            return ["generate", "-s", SIG, "--count", "6", "--batch-size", "2"]

        kinds = ("import", "fmt", "review", "generate")
        durations = {}
        for kind in kinds:  # one full run of each, to aim the kills at its lifetime
            started = time.monotonic()
            run_killed(operation(kind, 0), project, env, 120)
            durations[kind] = time.monotonic() - started
        killed = runs = 0
        while killed < TRIALS:  # runs that finish before their kill don't count as trials
            assert runs < 3 * TRIALS, f"only {killed} of {runs} runs were killed mid-run"
            kind = kinds[runs % len(kinds)]
            args = operation(kind, runs)
            before = snapshot(folder)
            delay = rng.uniform(0.2, 1.0) * durations[kind]
            killed += run_killed(args, project, env, delay)
            runs += 1
            name = f"run {runs} ({kind}, killed after {delay:.2f} s)"
            checked = validate(Project(project))  # tf validate, in this process: faster
            assert checked.exit_code == 0, f"{name}: {checked.problems[:5]}"
            check_nothing_lost_or_duplicated(before, snapshot(folder), name)
            if kind == "fmt":  # the same records, whether or not the rewrite happened
                assert snapshot(folder)["examples.jsonl"] == before["examples.jsonl"], name
    print(f"durations {durations}; {killed} of {runs} runs killed mid-run")
    # and a review afterwards finishes whatever an interrupted approval left
    assert run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                  env=GIT_ENV).exit_code == 0
    final = placements(snapshot(folder))
    assert all(len(copies) == 1 for copies in final.values())
