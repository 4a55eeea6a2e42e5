"""tf bootstrap never breaks a requirement the data met before it: prompts that don't say
their difficulty get the least filled one, so approving every labelled example keeps the
difficulty cap."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import GIT_ENV, run_tf
from tests.lm_server import LMServer
from tf_cli.records import read_lines, write_records

SIG = "validate_intent"
PARAMS = """\
coverage:
  defaults:
    dimensions:
      difficulty:
        sql: metadata.difficulty
        buckets: [easy, medium, hard]
    requirements:
      - {dimension: difficulty, max_share: 0.6, level: error}
"""
TOPICS = ("invoices", "refunds", "avatars", "webhooks", "search", "exports", "sessions",
          "coupons")


def curated(n: int, difficulty: str) -> dict:
    return {"id": f"01JE2000000000000000{n:06d}",
            "inputs": {"user_intent": f"Curated intent {n} about {TOPICS[n % 8]}",
                       "implementation": f"def curated_{n}(): return {n}"},
            "outputs": {"intent_matches": True,
                        "explanation": f"Curated example {n} does exactly what was asked."},
            "metadata": {"source": "manual", "difficulty": difficulty, "category": "api",
                         "created_at": "2026-11-20T10:00:00Z"}}


def test_bootstrapped_examples_keep_the_difficulty_cap_once_approved(project: Path):
    (project / "params.yaml").write_text(PARAMS)
    folder = project / "datasets" / SIG
    write_records(folder / "examples.jsonl",
                  [curated(n, ("easy", "medium", "hard")[n % 3]) for n in range(9)])
    rows = "".join(f"Prompt {n}: keep {TOPICS[n % 8]} working for tenant {n},"
                   f"def handler_{n}(): return {n * 7}\n" for n in range(40))
    (project / "prompts.csv").write_text("intent,code\n" + rows)
    imported = run_tf("import", "prompts.csv", "-s", SIG, "--inputs-only", "--map",
                      "intent=inputs.user_intent", "--map", "code=inputs.implementation",
                      cwd=project)
    assert imported.exit_code == 0, imported.stderr
    assert run_tf("check", cwd=project).exit_code == 0  # met before bootstrap

    with LMServer() as server:
        labelled = run_tf("bootstrap", "-s", SIG, "-f", "json", cwd=project,
                          env={"TF_LM_MODEL": "openai/test-model",
                               "TF_LM_API_BASE": server.api_base,
                               "DSPY_CACHEDIR": str(project / ".dspy_cache")})
    assert labelled.exit_code == 0, labelled.stderr
    assert json.loads(labelled.stdout)["accepted"] == 40
    records = [line.record for line in read_lines(folder / "bootstrap.jsonl")]
    spread = {d: sum(r["metadata"]["difficulty"] == d for r in records)
              for d in ("easy", "medium", "hard")}
    assert sorted(spread.values()) == [13, 13, 14]
    assert all(r["metadata"]["provenance"]["balanced"] == ["difficulty"] for r in records)

    approved = run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                      env=GIT_ENV)
    assert approved.exit_code == 0, approved.stderr
    check = run_tf("check", "--format", "json", cwd=project)
    assert check.exit_code == 0, check.stdout
    coverage = json.loads(run_tf("coverage", "-s", SIG, "--format", "json",
                                 cwd=project).stdout)["signatures"][0]
    assert coverage["examples"] == 49
    assert max(coverage["dimensions"]["difficulty"].values()) / 49 <= 0.6


def test_a_difficulty_the_prompt_gives_is_kept(project: Path):
    (project / "params.yaml").write_text(PARAMS)
    (project / "prompts.csv").write_text(
        "intent,code,difficulty\nExport invoices nightly,def export(): pass,hard\n")
    assert run_tf("import", "prompts.csv", "-s", SIG, "--inputs-only", "--map",
                  "intent=inputs.user_intent", "--map", "code=inputs.implementation",
                  cwd=project).exit_code == 0
    with LMServer() as server:
        assert run_tf("bootstrap", "-s", SIG, cwd=project,
                      env={"TF_LM_MODEL": "openai/test-model",
                           "TF_LM_API_BASE": server.api_base,
                           "DSPY_CACHEDIR": str(project / ".dspy_cache")}).exit_code == 0
    [record] = [line.record for line in read_lines(project / "datasets" / SIG /
                                                   "bootstrap.jsonl")]
    assert record["metadata"]["difficulty"] == "hard"
    assert "balanced" not in record["metadata"]["provenance"]
