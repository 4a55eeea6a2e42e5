"""The LM stages (bootstrap, synthesize) as DVC runs them, `python -m stages.<step> <sig>`,
against a model whose every answer is useless: a stage that accepted nothing fails, names
the rejects file with each answer, and changes no dataset, so DVC records nothing and the
next `dvc repro` tries again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_generate import set_lm
from tests.conftest import REPO, fixture_project_at, run_tf
from tests.lm_server import LMServer


def stage(step: str, signature: str, project: Path, server: LMServer | None):
    """The stage's process, pointed at `server` (None: no LM configured)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_LM_")}
    env.update({"PYTHONPATH": str(REPO), "DSPY_CACHEDIR": str(project / ".dspy_cache")})
    if server is not None:
        env.update({"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base})
    return subprocess.run([sys.executable, "-m", f"stages.{step}", signature], cwd=project,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = fixture_project_at(tmp_path)
    set_lm(root, num_threads=1, cache=False)
    return root


def test_synthesize_that_accepted_nothing_fails_and_keeps_the_evidence(project: Path):
    signature = "validate_completeness"
    dataset = project / "datasets" / signature / "synthetic.jsonl"
    before = dataset.read_bytes() if dataset.exists() else b""
    with LMServer() as server:
        server.state.faults = ["none"] + ["prose"] * 10
        done = stage("synthesize", signature, project, server)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    rejects = f"reports/{signature}/synthesize.rejects.jsonl"  # named after the stage
    assert f"synthesize {signature}: accepted none of the" in done.stderr
    assert rejects in done.stderr and "next `dvc repro` runs it again" in done.stderr
    assert (dataset.read_bytes() if dataset.exists() else b"") == before
    evidence = [json.loads(line) for line in (project / rejects).read_text().splitlines()]
    assert evidence and all(r["reason"] == "malformed" and r["answer"] ==
                            "Sure! Here is my answer: it depends." for r in evidence)
    report = json.loads((project / f"reports/{signature}/synthesize.json").read_text())
    assert report["planned"] > 0 and report["accepted"] == 0
    assert not (project / f"reports/{signature}/generate.json").exists()  # tf generate's


def test_synthesize_without_an_lm_reports_why_it_skipped(project: Path):
    signature = "validate_completeness"
    done = stage("synthesize", signature, project, None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"synthesize {signature}: skipped: no LM is configured" in done.stdout
    report = json.loads((project / f"reports/{signature}/synthesize.json").read_text())
    assert report == {"skipped": "no LM is configured (lm.model)"}


def test_bootstrap_that_labelled_nothing_fails_and_keeps_each_answer(project: Path):
    signature = "validate_intent"
    (project / "p.csv").write_text("intent,code\nKeep users logged in,cookie max_age=30d\n"
                                   "Export CSV,writes PDF\n")
    assert run_tf("import", "p.csv", "-s", signature, "--inputs-only", "--map",
                  "intent=inputs.user_intent", "--map", "code=inputs.implementation",
                  cwd=project).exit_code == 0
    with LMServer() as server:
        server.state.faults = ["none"] + ["prose"] * 10
        done = stage("bootstrap", signature, project, server)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"bootstrap {signature}: labelled none of the 2 prompts it tried" in done.stderr
    assert "rejected: malformed 2" in done.stdout
    assert not (project / "datasets" / signature / "bootstrap.jsonl").read_text()
    evidence = [json.loads(line) for line in
                (project / f"reports/{signature}/bootstrap.rejects.jsonl").read_text()
                .splitlines()]
    assert [r["reason"] for r in evidence] == ["malformed", "malformed"]
    assert all(r["answer"] == "Sure! Here is my answer: it depends." and
               r["origin"].startswith("prompts.jsonl:") for r in evidence)
    assert "could not be parsed" in evidence[0]["detail"]


def test_a_stage_with_nothing_to_do_succeeds(project: Path):
    with LMServer() as server:
        set_lm(project, num_threads=1)
        done = stage("bootstrap", "validate_intent", project, server)  # no prompts
    assert done.returncode == 0 and "skipped" in done.stdout


def test_a_checked_program_refuses_a_prediction_that_breaks_the_rules(project: Path,
                                                                       monkeypatch):
    import dspy

    import tf_cli
    from tf_cli.pipeline.balance import balance
    from tf_cli.pipeline.convert import convert
    from tf_cli.pipeline.optimize import optimize
    from tf_cli.pipeline.validate import PoolOptions, build_pool
    from tf_cli.project import Project

    signature = "validate_completeness"
    monkeypatch.delenv("TF_LM_MODEL", raising=False)  # the program is built offline
    root = Project(project)
    build_pool(root, signature, PoolOptions.from_settings(root.settings))
    balance(root, signature, root.settings.balance)
    convert(root, signature)
    optimize(root, signature, root.settings.optimize)
    plain = tf_cli.load_program(signature, project=project)
    checked = tf_cli.load_program(signature, project=project, checked=True)
    inputs = {"implementation": "def reset(email): send_link(email)",
              "requirements": ["Send a reset link by email", "Links expire after an hour"]}
    with LMServer() as server:
        client = dspy.LM("openai/test-model", api_base=server.api_base, api_key="x",
                         cache=False)
        with dspy.context(lm=client):
            assert checked(**inputs).is_complete is True  # consistent: nothing missing
            # "complete", yet listing a missing requirement: the rule says no.
            server.state.field_values = {"missing_requirements": ["Send a reset link by email"]}
            assert plain(**inputs).is_complete is True  # unchecked, it passes as it is
            with pytest.raises(tf_cli.InvalidPrediction) as refused:
                checked(**inputs)
        # Under the adapter the optimize stage used, the schema goes as the response format.
        server.state.field_values = {}
        with dspy.context(lm=client, adapter=tf_cli.adapter(signature, project=project)):
            assert checked(**inputs).is_complete is True
        sent = server.state.formats[-1]
        assert sent["json_schema"]["schema"]["properties"]["missing_requirements"]["type"] == \
            "array"
    assert [p.rule for p in refused.value.problems] == ["complete_iff_nothing_missing"]
    assert refused.value.prediction.missing_requirements == ["Send a reset link by email"]
    assert "complete_iff_nothing_missing" in str(refused.value)
