"""tf import --inputs-only fills prompts.jsonl; tf bootstrap labels it with the test server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURE_PARAMS, run_tf
from tests.lm_server import LMServer

SIG = "validate_intent"


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_prompts_are_labelled_checked_and_resumable(project: Path):
    (project / "params.yaml").write_bytes(FIXTURE_PARAMS.read_bytes())
    (project / "p.csv").write_text("intent,code,category\nKeep users logged in,cookie "
                                   "max_age=30d,authentication\nExport CSV,writes PDF,billing\n"
                                   "Export CSV,writes PDF,billing\n")
    imported = run_tf("import", "p.csv", "-s", SIG, "--inputs-only", "--map",
                      "intent=inputs.user_intent", "--map", "code=inputs.implementation",
                      cwd=project)
    assert imported.exit_code == 0 and "1 duplicate skipped" in imported.stderr
    prompts = lines(project / "datasets" / SIG / "prompts.jsonl")
    assert len(prompts) == 2 and "outputs" not in prompts[0]
    assert run_tf("validate", cwd=project).exit_code == 0  # checked against the inputs
    coverage = json.loads(run_tf("coverage", "-s", SIG, "--format", "json",
                                 cwd=project).stdout)
    assert coverage["signatures"][0]["examples"] == 0  # prompts are not examples

    with LMServer() as server:
        env = {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base,
               "DSPY_CACHEDIR": str(project / ".dspy_cache")}
        first = run_tf("bootstrap", "-s", SIG, cwd=project, env=env)
        assert first.exit_code == 0, first.stderr
        # A summary for people by default, JSON with -f json
        assert first.stdout.startswith("2 prompts: 0 labelled before, 2 labelled now in ")
        assert "rejected: none\n" in first.stdout
        assert f"review them: tf review --signature {SIG}" in first.stdout
        again = run_tf("bootstrap", "-s", SIG, "-f", "json", cwd=project, env=env)
        assert json.loads(again.stdout) | {"calls": 0} == {
            "prompts": 2, "already_labelled": 2, "attempted": 0, "accepted": 0,
            "rejected": {}, "failures": [], "calls": 0,
            "structured_output": {"structured_output": "auto", "used": "json_schema",
                                  "refused": []},
            "rejects_file": f"reports/{SIG}/bootstrap.rejects.jsonl"}
    labelled = lines(project / "datasets" / SIG / "bootstrap.jsonl")
    # labelled in parallel: the file is in the order the teacher finished
    by_origin = {r["metadata"]["provenance"]["origin"]: r for r in labelled}
    labelled = [by_origin[f"prompts.jsonl:{p['id']}"] for p in prompts]
    assert [r["inputs"] for r in labelled] == [p["inputs"] for p in prompts]
    for record, prompt in zip(labelled, prompts, strict=True):
        assert record["outputs"]["intent_matches"] is True
        assert record["metadata"]["source"] == "bootstrap"
        assert record["metadata"]["review"] == {"status": "pending"}
        assert record["metadata"]["provenance"]["origin"] == f"prompts.jsonl:{prompt['id']}"
    assert run_tf("validate", cwd=project).exit_code == 0


def test_bootstrap_without_prompts_says_how_to_add_them(project: Path):
    result = run_tf("bootstrap", "-s", SIG, cwd=project,
                    env={"TF_LM_MODEL": "openai/x", "TF_LM_API_BASE": "http://127.0.0.1:9/v1"})
    assert result.exit_code == 2 and "--inputs-only" in result.stderr
