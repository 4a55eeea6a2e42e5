"""tf prune: lifecycle policies retire examples to retired.jsonl, with the reason and date,
as one commit that holds exactly the moved lines; --restore brings one back as it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import GIT_ENV, REPO, fixture_project_at, run_tf
from tests.lm_server import completeness_example

SIG = "validate_completeness"


def record(n: int, *, source: str = "manual", created: str = "2026-11-20T10:00:00Z",
           quality: float | None = None, difficulty: str = "medium") -> dict:
    made = completeness_example(5000 + n, {"completion": "full"})
    metadata = {"source": source, "difficulty": difficulty, "category": "api",
                "created_at": created}
    if quality is not None:
        metadata["quality"] = {"score": quality}
    if source != "manual":
        metadata["review"] = {"status": "approved"}
    return {"id": f"01JE5{n:021d}", "inputs": made["inputs"], "outputs": made["outputs"],
            "metadata": metadata}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin",
                                          "HOME": str(root)}).stdout


def set_params(root: Path, **sections) -> None:
    yaml = YAML()
    params = yaml.load(root / "params.yaml")
    for name, values in sections.items():
        params.setdefault(name, {}).update(values)
    yaml.dump(params, root / "params.yaml")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The fixture project with validate_completeness's data replaced by known examples,
    committed: 1 old synthetic, 1 of low quality, 4 in the easy cell (cap 2), 2 others."""
    root = fixture_project_at(tmp_path / "repo")
    folder = root / "datasets" / SIG
    for path in folder.glob("*.jsonl"):
        path.unlink()
    records = [record(1, source="synthetic", created="2026-01-01T00:00:00Z"),
               record(2, quality=0.3),
               record(3, difficulty="easy", quality=0.9),
               record(4, difficulty="easy", quality=0.5, created="2026-11-01T00:00:00Z"),
               record(5, difficulty="easy", quality=0.5, created="2026-11-25T00:00:00Z"),
               record(6, difficulty="easy", source="synthetic", quality=1.0),
               record(7), record(8, difficulty="hard")]
    (folder / "examples.jsonl").write_bytes(b"".join(
        json.dumps(r, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        for r in records))
    assert run_tf("fmt", cwd=root).exit_code == 0  # canonical lines, as tf writes them
    set_params(root, lifecycle={"max_age_days": {"synthetic": 180}, "min_quality": 0.4,
                                "max_per_cell": 2},
               balance={"cell_dimensions": ["difficulty"]})
    shutil.copy(REPO / ".gitignore", root / ".gitignore")  # tf's *.lock files among others
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root


def ids(*numbers: int) -> list[str]:
    return [f"01JE5{n:021d}" for n in numbers]


def test_retire_then_restore_round_trips_and_each_commit_holds_only_the_moved_lines(
        repo: Path):
    examples = repo / "datasets" / SIG / "examples.jsonl"
    retired_file = repo / "datasets" / SIG / "retired.jsonl"
    before = examples.read_bytes()
    lines = {json.loads(x)["id"]: x for x in before.decode().splitlines()}

    planned = run_tf("prune", "--dry-run", "-s", SIG, "--format", "json", cwd=repo)
    assert planned.exit_code == 0, planned
    found = {item["id"]: item["reasons"] for item in json.loads(planned.stdout)["retire"]}
    assert set(found) == set(ids(1, 2, 4, 6)), found
    assert "over lifecycle.max_age_days.synthetic 180" in found[ids(1)[0]][0]
    assert found[ids(2)[0]] == ["quality 0.3 below lifecycle.min_quality 0.4"]
    # The easy cell keeps its best two: human before synthetic, higher quality, newer.
    assert "cell difficulty=easy holds 4, over lifecycle.max_per_cell 2" in found[ids(4)[0]][0]
    assert "cell difficulty=easy" in found[ids(6)[0]][0]
    assert examples.read_bytes() == before and not retired_file.exists()  # dry run

    head = git(repo, "rev-parse", "HEAD")
    result = run_tf("prune", "-s", SIG, cwd=repo, env=GIT_ENV)
    assert result.exit_code == 0, result
    assert "4 examples moved to retired.jsonl and committed" in result.stderr
    assert git(repo, "rev-parse", "HEAD~1") == head and git(repo, "status", "--porcelain") == ""
    removed, added = diff_lines(repo)
    assert removed == {f"datasets/{SIG}/examples.jsonl": sorted(lines[i] for i in ids(1, 2, 4, 6))}
    assert list(added) == [f"datasets/{SIG}/retired.jsonl"]
    for line in added[f"datasets/{SIG}/retired.jsonl"]:
        moved = json.loads(line)
        info = moved["metadata"].pop("retired")
        assert info["from"] == "examples.jsonl" and info["reason"] and info["date"]
        assert json.loads(lines[moved["id"]]) == moved  # the example itself, unchanged
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f"tf prune: retire 4 examples of {SIG}")
    assert all(i in message for i in ids(1, 2, 4, 6))

    # tf log's trend: the retire commit counts 4 examples, of a higher mean quality.
    rows = json.loads(run_tf("log", "-s", SIG, "--format", "json", cwd=repo).stdout)["rows"]
    assert [(r["examples"], r["mean_quality"]) for r in rows] == [(4, 0.7), (8, 0.64)]
    assert all(r["median_age_days"] > 0 for r in rows)
    # Retired examples are checked but never counted; a second prune finds nothing.
    assert run_tf("validate", cwd=repo).exit_code == 0
    coverage = json.loads(run_tf("coverage", "-s", SIG, "--format", "json", cwd=repo).stdout)
    assert coverage["signatures"][0]["examples"] == 4
    again = run_tf("prune", "-s", SIG, cwd=repo, env=GIT_ENV)
    assert again.exit_code == 0 and "nothing to retire" in again.stderr
    listed = json.loads(run_tf("prune", "--retired", "--format", "json", cwd=repo).stdout)
    assert sorted(item["id"] for item in listed["retired"]) == sorted(ids(1, 2, 4, 6))

    restored = run_tf("prune", "--restore", ids(2)[0], cwd=repo, env=GIT_ENV)
    assert restored.exit_code == 0, restored
    removed, added = diff_lines(repo)
    assert added == {f"datasets/{SIG}/examples.jsonl": [lines[ids(2)[0]]]}  # byte for byte
    assert [json.loads(x)["id"] for x in removed[f"datasets/{SIG}/retired.jsonl"]] == ids(2)
    assert git(repo, "status", "--porcelain") == ""


def diff_lines(repo: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The last commit's removed and added lines, per file."""
    removed: dict[str, list[str]] = {}
    added: dict[str, list[str]] = {}
    current = None
    for line in git(repo, "show", "--format=", "--unified=0", "HEAD").splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line != "+++ /dev/null" else None
        elif line.startswith("--- "):
            current = line[6:] if line != "--- /dev/null" else current
        elif line.startswith("+") and current:
            added.setdefault(current, []).append(line[1:])
        elif line.startswith("-") and current:
            removed.setdefault(current, []).append(line[1:])
    return ({k: sorted(v) for k, v in removed.items()}, added)


def test_prune_refuses_uncommitted_changes_to_the_files_it_would_commit(repo: Path):
    examples = repo / "datasets" / SIG / "examples.jsonl"
    examples.write_bytes(examples.read_bytes() + examples.read_bytes().splitlines(True)[-1]
                         .replace(b"01JE5", b"01JE6"))
    before = examples.read_bytes()
    result = run_tf("prune", "-s", SIG, cwd=repo, env=GIT_ENV)
    assert result.exit_code == 2, result
    assert "changes not committed yet; nothing was moved" in result.stderr
    assert examples.read_bytes() == before
    assert not (repo / "datasets" / SIG / "retired.jsonl").exists()
    moved = run_tf("prune", "-s", SIG, "--no-commit", cwd=repo, env=GIT_ENV)
    assert moved.exit_code == 0 and "moved to retired.jsonl" in moved.stderr
    assert git(repo, "log", "--format=%s") == "data\n"  # no commit was made


def test_harmful_in_n_effect_runs_in_a_row_retires(repo: Path):
    """Two committed runs of the effect stage flag one demo harmful; a third in between
    that did not flag the other one breaks its streak."""
    reports = repo / "reports" / SIG
    reports.mkdir(parents=True)
    a, b = ids(7)[0], ids(8)[0]
    set_params(repo, lifecycle={"harmful_runs": 2, "min_quality": None, "max_per_cell": None,
                                "max_age_days": {}})
    for harmful in ([a], [a, b], [a]):  # oldest first: b was flagged once, not in a row
        demos = [{"id": i, "effect": -20.0 if i in harmful else 3.0,
                  "flag": "harmful" if i in harmful else None} for i in (a, b)]
        (reports / "demos.json").write_text(json.dumps(
            {"evaluated": True, "dev_score_percent": 50.0, "buckets": [], "demos": demos}))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "an effect run")
    planned = json.loads(run_tf("prune", "--dry-run", "--format", "json", cwd=repo).stdout)
    assert [(item["id"], item["reasons"]) for item in planned["retire"]] == [
        (a, ["flagged harmful by the effect stage in 3 runs in a row "
             "(lifecycle.harmful_runs 2)"])]
    status = run_tf("status", "-s", SIG, "--format", "json", cwd=repo)
    effect = json.loads(status.stdout)["effect"][0]
    assert effect["harmful"] == [a] and effect["harmful_streak"] == {a: 3}


def test_restore_refuses_a_retired_line_that_names_a_file_outside_the_list(repo: Path):
    """retired.jsonl comes in pull requests too: its `from` cannot send a line elsewhere."""
    hostile = record(9)
    hostile["metadata"]["retired"] = {"date": "2026-11-30T00:00:00Z", "reason": "x",
                                      "from": "../../../../tmp/owned.jsonl"}
    path = repo / "datasets" / SIG / "retired.jsonl"
    path.write_text(json.dumps(hostile) + "\n")
    checked = run_tf("validate", cwd=repo)
    assert checked.exit_code == 1 and "retired.jsonl:1" in checked.stdout + checked.stderr
    result = run_tf("prune", "--restore", hostile["id"], "--no-commit", cwd=repo)
    assert result.exit_code == 2 and "metadata.retired.from" in result.stderr, result
    assert path.read_text() == json.dumps(hostile) + "\n"
    assert not Path("/tmp/owned.jsonl").exists()


@pytest.mark.parametrize("kind", ["link", "fifo", "garbage", "huge"])
def test_a_hostile_effect_report_is_refused_or_read_as_nothing(repo: Path, kind: str):
    """reports/ is in git: a pull request can commit demos.json as a link to a secret, a FIFO
    (a read that never ends) or rows of any shape."""
    reports = repo / "reports" / SIG
    reports.mkdir(parents=True)
    secret = repo.parent / "secret.txt"
    secret.write_text('{"evaluated": true, "demos": "the secret value"}')
    path = reports / "demos.json"
    if kind == "link":
        path.symlink_to(secret)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":  # an effect far past ±100 points overflowed a bar's width
        path.write_text(json.dumps({"evaluated": True, "demos": [
            {"id": "x", "effect": -1e308, "flag": "harmful"}], "buckets": [
            {"bucket": "a", "dimension": "category", "effect": 1e308}]}))
    else:
        path.write_text(json.dumps({"evaluated": True, "dev_score_percent": "high",
                                    "demos": ["x", {"id": 3, "effect": "big"}],
                                    "buckets": {"a": 1}}))
    status = run_tf("status", "-s", SIG, cwd=repo, timeout=30)
    report = run_tf("report", "-s", SIG, "--html", str(repo / "r.html"), cwd=repo, timeout=30)
    for result in (status, report):
        if kind in ("garbage", "huge"):
            assert result.exit_code == 0, result
        else:
            assert result.exit_code == 2, result
            assert "reports/validate_completeness/demos.json" in result.stderr
            assert "tf reads and writes only files inside the repository" in result.stderr
        assert "the secret value" not in result.stdout + result.stderr


def test_an_example_edited_after_the_plan_is_not_moved(repo: Path):
    """tf prune judges, then moves under the lock: an example someone changed in between
    (here, a better quality score) stays, and nothing is moved."""
    from tf_cli import prune
    from tf_cli.project import Project
    from tf_cli.writer import WriteFailed

    project = Project(repo)
    planned = prune.plan(project, [SIG])
    examples = repo / "datasets" / SIG / "examples.jsonl"
    before = examples.read_text().replace('"score":0.3', '"score":0.95')
    examples.write_text(before)
    with pytest.raises(WriteFailed, match="changed since it was shown"):
        prune.retire(project, planned, commit=False)
    assert examples.read_text() == before
    assert not (repo / "datasets" / SIG / "retired.jsonl").exists()


def test_demo_choices_are_counted_across_history_and_dvc_experiments(repo: Path):
    """Each version of reports/<sig>/optimize.json on the branch is one run, and so is a DVC
    experiment's (refs/exps/...) that the branch does not hold; the same version twice is
    one run."""
    reports = repo / "reports" / SIG
    reports.mkdir(parents=True)
    a, b, c = ids(3, 5, 7)

    def run(chosen: list[str], message: str) -> str:
        (reports / "optimize.json").write_text(json.dumps(
            {"optimizer": "bootstrap_fewshot", "demos_chosen": chosen}))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", message)
        return git(repo, "rev-parse", "HEAD").strip()

    run([a, b], "first run")
    run([a, c], "second run")
    git(repo, "checkout", "-q", "-b", "experiment")
    run([b], "a change the experiment then undid")  # so the next one is a commit of its own
    experiment = run([a], "an experiment")
    git(repo, "update-ref", "refs/exps/ab/cdef/sweep-1", experiment)
    applied = run([a, c], "an experiment identical to the second run")
    git(repo, "update-ref", "refs/exps/ab/cdef/sweep-2", applied)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-D", "-q", "experiment")
    status = json.loads(run_tf("status", "-s", SIG, "--format", "json", cwd=repo).stdout)
    effect = status["effect"][0]
    assert effect["runs"] == 3 and effect["chosen"] == {a: 3, c: 1, b: 1}, effect
    table = run_tf("status", "-s", SIG, cwd=repo).stdout
    assert f"{a} 3/3" in table


def test_retirements_that_would_fail_tf_check_are_held_back(repo: Path):
    """An error-level requirement that holds now (here: at least 3 easy examples; the easy
    cell has 4) must still hold after the prune, or CI fails on the prune's own commit: that
    signature's retirements are held back, and said so."""
    yaml = YAML()
    params = yaml.load(repo / "params.yaml")
    params["coverage"]["signatures"][SIG]["requirements"].append(
        {"dimension": "difficulty", "bucket": "easy", "min": 3, "level": "error"})
    yaml.dump(params, repo / "params.yaml")
    git(repo, "commit", "-qam", "a minimum of easy examples")
    examples = repo / "datasets" / SIG / "examples.jsonl"
    before, head = examples.read_bytes(), git(repo, "rev-parse", "HEAD")
    planned = run_tf("prune", "--dry-run", "-s", SIG, "--format", "json", cwd=repo)
    assert planned.exit_code == 0, planned
    found = json.loads(planned.stdout)
    assert found["retire"] == []
    assert found["held_back"] == [{"signature": SIG, "examples": 4,
                                   "would_fail": ["difficulty = easy: at least 3"]}]
    result = run_tf("prune", "-s", SIG, cwd=repo, env=GIT_ENV)
    assert result.exit_code == 0, result
    assert f"held back: retiring 4 examples of {SIG} would fail tf check" in result.stderr
    assert examples.read_bytes() == before and git(repo, "rev-parse", "HEAD") == head
