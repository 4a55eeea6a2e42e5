""".github/workflows/experiments.yml: when it runs, and what each step is handed. Its steps
run, in two clones at once against offline servers, in tests/stages/test_scaling.py."""

from __future__ import annotations

import json
import re

from ruamel.yaml import YAML

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "experiments.yml"
CONTEXT = re.compile(r"\$\{\{\s*(\w+)\.(\w+)\s*\}\}")


def load() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text())


def steps() -> list[dict]:
    return load()["jobs"]["optimize"]["steps"]


def used(mapping: dict | None, context: str) -> set[str]:
    """The names of `context` (secrets, vars, github...) the values of `mapping` read."""
    return {name for value in (mapping or {}).values()
            for ctx, name in CONTEXT.findall(str(value)) if ctx == context}


def test_it_runs_on_a_dispatch_and_a_schedule_never_on_pull_requests():
    # no pull_request, no pull_request_target: no fork's code runs with the secrets
    assert set(load()["on"]) == {"workflow_dispatch", "schedule"}


def test_it_may_write_refs_and_nothing_else():
    workflow = load()
    assert workflow["permissions"] == {"contents": "write"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


def test_secrets_reach_only_the_steps_that_need_them_and_never_a_script():
    job = load()["jobs"]["optimize"]
    assert not used(job.get("env"), "secrets")
    handed = {}
    for step in steps():
        assert "${{" not in step.get("run", ""), f"an expression in a script: {step['name']}"
        assert not used(step.get("with"), "secrets")
        if used(step.get("env"), "secrets") or used(step.get("env"), "github"):
            handed[step["name"]] = used(step["env"], "secrets") | used(step["env"], "github")
    assert handed == {
        "Configure the DVC remote": {"DVC_REMOTE_ACCESS_KEY_ID", "DVC_REMOTE_SECRET_ACCESS_KEY"},
        "Run the experiment": {"TF_LM_API_KEY"},
        "Push the experiment": {"token"}}
    # The key goes with a base the workflow chooses, never one only params.yaml names.
    run = next(step for step in steps() if step.get("name") == "Run the experiment")
    assert run["env"]["TF_LM_API_BASE"] == "${{ vars.TF_LM_API_BASE }}"
    assert run["env"]["TF_LM_MODEL"] == "${{ vars.TF_LM_MODEL }}"


def test_the_remote_and_its_credentials_go_to_config_local_only():
    configure = next(step for step in steps() if step.get("name") == "Configure the DVC remote")
    commands = [line.strip() for line in configure["run"].splitlines()
                if line.strip().startswith("dvc remote")]
    assert len(commands) == 4 and all(" --local " in command for command in commands)
    assert "dvc remote add --local --default ci" in configure["run"]


def test_the_matrix_covers_the_pipelines_signatures_with_known_optimizers():
    matrix = load()["jobs"]["optimize"]["strategy"]["matrix"]
    params = YAML(typ="safe").load((REPO / "params.yaml").read_text())
    assert matrix["signature"] == params["pipeline"]["signatures"]
    schema = json.loads((REPO / "tf_cli" / "params.schema.json").read_text())
    known = schema["properties"]["optimize"]["properties"]["optimizer"]["enum"]
    assert set(matrix["optimizer"]) <= set(known)


def test_the_job_installs_tf_with_the_s3_extra():
    """The one `run:` step tests/stages/test_scaling.py skips (its Python has both)."""
    install = next(step for step in steps() if step.get("name") == "Install tf")
    assert install["run"].strip() == "python -m pip install -e '.[s3]'"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^s3 = \[\s*"dvc-s3', pyproject, re.M)
