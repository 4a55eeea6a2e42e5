"""The effect stage against the test LM server, whose answers depend on the demos it is
shown (LMServer.state.demo_rules): a `help` demo makes it answer one kind of dev question
right, a `harm` demo makes it answer another kind wrong. So the score with each bucket or
demo withheld, and the effects, are known before the stage runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO, fixture_project_at
from tests.lm_server import LMServer, completeness_example
from tf_cli.pipeline.balance import is_dev

SIG = "validate_completeness"
HELP, HARM = "HELPFUL-DEMO-MARKER", "HARMFUL-DEMO-MARKER"
ASKS_A, ASKS_B = "QUESTION-KIND-A", "QUESTION-KIND-B"
DEV_A, DEV_B = 3, 1  # dev questions of each kind: A's truth is False, B's True


def ids(dev: bool, count: int, start: int) -> list[str]:
    """`count` ids that the balance stage puts in dev (or in train): the split is a hash of
    the id (tf_cli.pipeline.balance.is_dev)."""
    found, n = [], start
    while len(found) < count:
        candidate = f"01JE4{n:021d}"
        if is_dev(candidate, 0.25) == dev:
            found.append(candidate)
        n += 1
    return found


def example(example_id: str, n: int, difficulty: str, marker: str, complete: bool) -> dict:
    made = completeness_example(n, {"completion": "full" if complete else "partial"})
    made["inputs"]["implementation"] += f"\n# {marker}"
    return {"id": example_id, "inputs": made["inputs"], "outputs": made["outputs"],
            "metadata": {"source": "manual", "difficulty": difficulty, "category": "api",
                         "created_at": "2026-11-20T10:00:00Z"}}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """The project with its pipeline run up to the optimized program (validate, balance,
    convert, optimize: labeled_fewshot, every train example a demo)."""
    root = fixture_project_at(tmp_path_factory.mktemp("effect") / "project")
    yaml = YAML()
    params = yaml.load(root / "params.yaml")
    params["pipeline"]["signatures"] = [SIG]
    params["lm"].update(cache=False, num_threads=1)
    params["balance"].update(dev_fraction=0.25, cell_dimensions=["difficulty"])
    # every train example a demo; the score is is_complete alone, so right is 100, wrong 0
    params["optimize"].update(optimizer="labeled_fewshot", max_labeled_demos=20)
    params["optimize"]["metric"]["exclude"] = ["missing_requirements", "explanation"]
    params["effect"].update(dimensions=["difficulty"], max_lm_calls=1000)
    yaml.dump(params, root / "params.yaml")
    train = ids(False, 4, 0)
    dev = ids(True, DEV_A + DEV_B, 0)
    records = [example(train[0], 1, "hard", HELP, False),
               example(train[1], 2, "easy", HARM, True),
               example(train[2], 3, "medium", "plain", True),
               example(train[3], 4, "medium", "plain", False)]
    records += [example(dev[i], 10 + i, "medium", ASKS_A, False) for i in range(DEV_A)]
    records += [example(dev[DEV_A + i], 20 + i, "medium", ASKS_B, True) for i in range(DEV_B)]
    folder = root / "datasets" / SIG
    for path in folder.glob("*.jsonl"):
        path.unlink()
    (folder / "examples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    # The steps before effect, in this process (tests/stages/test_pipeline.py runs them as
    # DVC does); effect itself runs as a stage process in each test.
    from tf_cli.pipeline.balance import balance
    from tf_cli.pipeline.convert import convert
    from tf_cli.pipeline.optimize import optimize
    from tf_cli.pipeline.validate import PoolOptions, build_pool
    from tf_cli.project import Project

    with LMServer() as server, lm_environment(server, root):
        project = Project(root)
        build_pool(project, SIG, PoolOptions.from_settings(project.settings))
        balance(project, SIG, project.settings.balance)
        convert(project, SIG)
        optimize(project, SIG, project.settings.optimize)
    split = json.loads((root / "data" / SIG / "dspy.json").read_text())
    assert (len(split["train"]), len(split["dev"])) == (4, DEV_A + DEV_B)
    return root


@pytest.fixture
def project(prepared: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(prepared, tmp_path / "project"))


def lm_values(server: LMServer, root: Path) -> dict[str, str]:
    return {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base,
            "DSPY_CACHEDIR": str(root / ".dspy_cache")}


@contextmanager
def lm_environment(server: LMServer, root: Path):
    saved = {name: os.environ.get(name) for name in lm_values(server, root)}
    os.environ.update(lm_values(server, root))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def stage(step: str, root: Path, server: LMServer) -> subprocess.CompletedProcess:
    """A stage as DVC runs it: `python -m stages.<step> <sig>` in the project."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **lm_values(server, root)}
    done = subprocess.run([sys.executable, "-m", f"stages.{step}", SIG], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    return done


def demo_rules(server: LMServer) -> None:
    server.state.demo_rules = [(HELP, ASKS_A, {"is_complete": False}),
                               (HARM, ASKS_B, {"is_complete": False})]


def test_withholding_a_bucket_or_a_demo_changes_the_score_as_the_server_predicts(
        project: Path):
    dev = DEV_A + DEV_B
    full = 100 * DEV_A / dev  # A is right only with the help demo; B is wrong with harm shown
    with LMServer() as server:
        demo_rules(server)
        before = server.state.requests
        said = stage("effect", project, server).stdout
        calls = server.state.requests - before
    detail = json.loads((project / "reports" / SIG / "demos.json").read_text())
    assert detail["evaluated"] is True and detail["dev_score_percent"] == round(full, 2)
    effects = {row["bucket"]: row["effect"] for row in detail["buckets"]}
    assert effects == {"hard": round(full, 2),  # the help demo: A falls to 0
                       "easy": round(-100 * DEV_B / dev, 2),  # the harm demo: B rises to 100
                       "medium": 0.0}
    by_marker = {}
    lines = (project / "datasets" / SIG / "examples.jsonl").read_text().splitlines()
    examples = {record["id"]: record for record in map(json.loads, lines)}
    for row in detail["demos"]:
        text = examples[row["id"]]["inputs"]["implementation"]
        marker = HELP if HELP in text else HARM if HARM in text else "plain"
        by_marker.setdefault(marker, []).append((row["effect"], row["flag"]))
    assert by_marker == {HELP: [(round(full, 2), None)],
                         HARM: [(round(-100 * DEV_B / dev, 2), "harmful")],
                         "plain": [(0.0, "low-value"), (0.0, "low-value")]}
    # One reachability check, then one call per dev question for the program, 3 buckets
    # and 4 demos; the report counts every call the stage made.
    assert detail["evaluations"] == 1 + 3 + 4 and detail["skipped"] == 0
    assert calls == 1 + dev * 8 == detail["lm_calls"]
    metrics = json.loads((project / "reports" / SIG / "effect.json").read_text())
    assert metrics["bucket_effect"] == {f"difficulty={k}": v for k, v in effects.items()}
    assert metrics["harmful"] == 1
    assert f"effect {SIG}: dev score percent {round(full, 2)}" in said


def test_the_budget_cuts_the_run_short_and_says_what_it_skipped(project: Path):
    dev = DEV_A + DEV_B
    yaml = YAML()
    params = yaml.load(project / "params.yaml")
    params["effect"]["max_lm_calls"] = dev * 4 + dev - 1  # the program and 3 buckets
    yaml.dump(params, project / "params.yaml")
    with LMServer() as server:
        demo_rules(server)
        stage("effect", project, server)
    detail = json.loads((project / "reports" / SIG / "demos.json").read_text())
    assert detail["evaluations"] == 4 and detail["skipped"] == 4
    assert all(row["effect"] is not None for row in detail["buckets"])
    assert all(row["effect"] is None and row["flag"] is None for row in detail["demos"])
