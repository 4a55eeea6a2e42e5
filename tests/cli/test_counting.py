"""One meaning of "counted" in every command that counts or trains: examples written or
approved by a person count; pending ones are shown apart and don't train; rejected ones
never count or train, and generation plans to replace them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, run_tf
from tests.lm_server import LMServer, completeness_example
from tf_cli.pipeline.validate import PoolOptions, build_pool
from tf_cli.project import Project
from tf_cli.records import read_lines, write_records

SIG = "validate_completeness"
PARAMS = f"""\
coverage:
  signatures:
    {SIG}:
      min_examples: 4
      target_examples: 10
      dimensions:
        completion:
          sql: "CASE WHEN outputs.is_complete THEN 'full' ELSE 'partial' END"
          buckets: [full, partial]
      requirements:
        - {{dimension: completion, bucket: partial, min: 5, level: error}}
        - {{synthetic_max_share: 0.5, level: error}}
validate:
  train_pending: false
"""


def example(n: int, completion: str, source: str = "manual", review: str | None = None
            ) -> dict:
    made = completeness_example(100 + n, {"completion": completion})  # the server's are 1..
    metadata = {"source": source, "difficulty": "medium", "category": "api",
                "created_at": "2026-11-20T10:00:00Z"}
    if review:
        metadata["review"] = {"status": review}
        if review == "rejected":
            metadata["review"]["reason"] = "wrong label"
    return {"id": f"01JE1000000000000000{n:06d}", "inputs": made["inputs"],
            "outputs": made["outputs"], "metadata": metadata}


def commit_all(project: Path) -> None:
    env = {**os.environ, **GIT_ENV}
    for command in (["init", "--quiet"], ["add", "-A"], ["commit", "--quiet", "-m", "data"]):
        subprocess.run(["git", *command], cwd=project, check=True, capture_output=True,
                       env=env)


@pytest.fixture
def mixed(project: Path) -> dict[str, list[dict]]:
    """4 manual examples (3 full, 1 partial) and 1 approved synthetic (partial), counted;
    1 pending and 3 rejected synthetic ones (partial), not counted."""
    (project / "params.yaml").write_text(PARAMS)
    made = {
        "counted": [example(1, "full"), example(2, "full"), example(3, "full"),
                    example(4, "partial"), example(5, "partial", "synthetic", "approved")],
        "pending": [example(6, "partial", "synthetic", "pending")],
        "rejected": [example(n, "partial", "synthetic", "rejected") for n in (7, 8, 9)],
    }
    folder = project / "datasets" / SIG
    write_records(folder / "examples.jsonl", made["counted"])
    write_records(folder / "synthetic.jsonl", made["pending"] + made["rejected"])
    return made


def test_coverage_counts_only_counted_examples_and_shows_the_rest_apart(project: Path, mixed):
    data = json.loads(run_tf("coverage", "-s", SIG, "--format", "json", cwd=project).stdout)
    cov = data["signatures"][0]
    assert cov["examples"] == 5
    assert (cov["pending"], cov["rejected"]) == (1, 3)
    assert cov["dimensions"]["completion"] == {"full": 3, "partial": 2}
    assert cov["pending_dimensions"]["completion"] == {"full": 0, "partial": 1}
    assert cov["by_source"] == {"manual": 4, "synthetic": 1}
    assert cov["synthetic_share"] == 0.2
    gaps = {json.dumps(g.get("cell")): g["need"] for g in cov["gaps"]}
    assert gaps['{"completion": "partial"}'] == 3  # pending and rejected fill no gap
    table = run_tf("coverage", "-s", SIG, cwd=project).stdout
    assert f"{SIG}: 5 examples (min 4, target 10)" in table
    assert "not counted: 1 pending review, 3 rejected" in table
    assert "pending" in table.splitlines()[2]  # the bucket table has a pending column


def test_check_and_status_use_the_same_counts(project: Path, mixed):
    check = run_tf("check", cwd=project)
    assert check.exit_code == 1
    assert "2 in completion = partial" in check.stdout + check.stderr
    report = json.loads(run_tf("check", "--format", "json", cwd=project).stdout)
    results = {r["kind"]: r for cov in report["coverage"]["signatures"]
               for r in cov["requirements"]}
    assert results["synthetic_share"]["passed"] and results["synthetic_share"]["actual"] == 0.2
    assert not results["bucket_min"]["passed"] and results["bucket_min"]["actual"] == 2
    status = run_tf("status", cwd=project).stdout
    row = next(line for line in status.splitlines() if line.startswith(f"│ {SIG}"))
    assert [cell.strip() for cell in row.split("│")[1:-1]][:6] == [
        SIG, "5/10", "no (1 error failing)", "manual 4, synthetic 1", "1", "3"]
    assert f"review 1 pending example of {SIG}: tf review --signature {SIG}" in status


def test_only_counted_examples_train_unless_params_say_pending_do(project: Path, mixed):
    build_pool(Project(project), SIG, PoolOptions.from_settings(Project(project).settings))
    pool = [line.record["id"] for line in read_lines(project / "data" / SIG / "pool.jsonl")]
    assert pool == [r["id"] for r in mixed["counted"]]
    rejects = {r["id"]: r["reason"] for r in
               map(json.loads, (project / "data" / SIG / "rejects.jsonl").open())}
    assert rejects[mixed["pending"][0]["id"]].startswith("review: pending")
    assert all(rejects[r["id"]] == "review: rejected by a reviewer" for r in mixed["rejected"])

    (project / "params.yaml").write_text(PARAMS.replace("train_pending: false",
                                                        "train_pending: true"))
    build_pool(Project(project), SIG, PoolOptions.from_settings(Project(project).settings))
    pool = [line.record["id"] for line in read_lines(project / "data" / SIG / "pool.jsonl")]
    assert pool == [r["id"] for r in mixed["counted"] + mixed["pending"]]


def test_generate_plans_to_replace_rejected_examples_not_pending_ones(project: Path, mixed):
    # partial needs 5: 2 counted + 1 pending (in the review queue) leave 2 to generate;
    # the 3 rejected ones fill nothing.
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, "--fill-gaps", "--count", "10", "--format",
                        "json", cwd=project,
                        env={"TF_LM_MODEL": "openai/test-model",
                             "TF_LM_API_BASE": server.api_base,
                             "DSPY_CACHEDIR": str(project / ".dspy_cache")})
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["planned"] == 2 and summary["accepted"] == 2
    synthetic = [line.record for line in read_lines(project / "datasets" / SIG /
                                                    "synthetic.jsonl")]
    new = synthetic[4:]
    assert [r["metadata"]["provenance"]["target_cell"]["completion"] for r in new] == \
        ["partial", "partial"]
    assert all(r["metadata"]["review"] == {"status": "pending"} for r in new)


def test_log_counts_the_same_examples_per_commit(project: Path, mixed):
    commit_all(project)
    rows = json.loads(run_tf("log", "-s", SIG, "--format", "json", cwd=project).stdout)["rows"]
    assert [row["examples"] for row in rows] == [5]


def test_every_command_agrees_on_odd_files(project: Path, mixed):
    """Lines that are no example (conflict markers, a torn line) count nowhere; an extra
    example file counts everywhere; a stale pending copy of a counted example (an
    interrupted approval) is not pending."""
    folder = project / "datasets" / SIG
    with open(folder / "examples.jsonl", "ab") as out:
        out.write(b"<<<<<<< ours\n=======\n>>>>>>> theirs\n[1, 2]\n\"text\"\n")
    extra = example(20, "partial")
    write_records(folder / "extra.jsonl", [extra])
    approved = mixed["counted"][4]
    stale = {**approved, "metadata": {**approved["metadata"], "review": {"status": "pending"}}}
    with open(folder / "synthetic.jsonl", "ab") as out:
        out.write(json.dumps(stale).encode() + b"\n")

    cov = json.loads(run_tf("coverage", "-s", SIG, "--format", "json",
                            cwd=project).stdout)["signatures"][0]
    assert (cov["examples"], cov["pending"], cov["rejected"]) == (6, 1, 3)
    assert cov["by_source"] == {"manual": 5, "synthetic": 1}
    build_pool(Project(project), SIG, PoolOptions.from_settings(Project(project).settings))
    pool = [line.record["id"] for line in read_lines(project / "data" / SIG / "pool.jsonl")]
    assert sorted(pool) == sorted(r["id"] for r in [*mixed["counted"], extra])
    commit_all(project)
    rows = json.loads(run_tf("log", "-s", SIG, "--format", "json", cwd=project).stdout)["rows"]
    assert [row["examples"] for row in rows] == [6]
