"""The GitHub Actions workflow .github/workflows/dataset.yml does what the README says.

The README promises: the workflow runs on every pull request (and push to main), in two
jobs; `check` makes a full-depth checkout and appends `tf check --format markdown --base
<the pull request's base>` to the job summary, with the example-level diff of the pull
request; `test` runs `make lint` and `make test`.

GitHub cannot run here, so this module
- reads the workflow with ruamel.yaml and checks its triggers, the checkout's fetch depth
  and the second job's commands;
- takes the `tf check --base` step's own `run` script out of the YAML and runs it as GitHub
  does (`bash -e` on a script file), in a scratch repository (tests/conftest.py) where a
  branch `feature` adds one example on top of `main`, with BASE naming the base branch
  (on a pull request the step's expression gives origin/<base branch>) and
  GITHUB_STEP_SUMMARY pointing at a file. A valid example passes and is listed as added
  in the summary; a base the repository lacks (the first push of a branch) passes too,
  without the diff; a broken example fails the step, and the summary is written all the
  same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from tests.conftest import GIT_ENV, REPO, assemble_repository
from tf_cli.ids import new_id
from tf_cli.records import canonical_bytes

WORKFLOW = REPO / ".github" / "workflows" / "dataset.yml"
EXAMPLES = Path("datasets") / "validate_intent" / "examples.jsonl"
# What github.event.before is on the first push of a branch: no commit at all.
NO_COMMIT = "0" * 40


def load_workflow() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text())


def steps_of(job: str) -> list[dict]:
    return load_workflow()["jobs"][job]["steps"]


def check_base_step() -> dict:
    """The `check` job's step that runs `tf check --base` (not `tf check-merge`)."""
    found = [step for step in steps_of("check")
             if "tf check" in step.get("name", "") and "--base" in step.get("run", "")]
    assert len(found) == 1, f"expected one `tf check --base` step in {WORKFLOW}: {found}"
    return found[0]


# The repository a pull request brings: main, and a branch with one more example.

def add_example(examples: Path, change: Callable[[dict], None]) -> str:
    """Append a copy of the file's first example under a new id, with a new user_intent (so
    it is no duplicate) and `change` applied, in canonical form; return its id."""
    record = json.loads(examples.read_text().splitlines()[0])
    record["id"] = new_id()
    record["inputs"]["user_intent"] = (
        "Archive every ticket closed more than a year ago, but keep the ones a customer "
        "reopened at least once.")
    change(record)
    with examples.open("ab") as f:
        f.write(canonical_bytes(record) + b"\n")
    return record["id"]


def valid(record: dict) -> None:
    pass


def without_outputs(record: dict) -> None:
    del record["outputs"]  # a required property of the example schema


def feature_branch(tmp_path: Path, change: Callable[[dict], None]) -> tuple[Path, str]:
    """A scratch repository on branch `feature`: main plus one commit adding an example
    (see add_example). Returns the repository and the example's id."""
    repo = assemble_repository(tmp_path / "repo")
    git(repo, "switch", "--quiet", "-c", "feature")
    example_id = add_example(repo / EXAMPLES, change)
    git(repo, "commit", "--quiet", "-am", "one more validate_intent example")
    return repo, example_id


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


# The step, run as a GitHub runner runs it.

def run_check_step(repo: Path, base: str) -> tuple[subprocess.CompletedProcess, str]:
    """Run the `tf check --base` step's script in `repo` with BASE=`base`, as GitHub runs
    a `run:` without a `shell:` (`bash -e FILE`), `tf` on PATH as `pip install -e .` puts
    it. Returns the finished process and what the step appended to the job summary."""
    script = repo.parent / "step.sh"
    script.write_text(check_base_step()["run"])
    summary = repo.parent / "step-summary.md"
    summary.write_text("")  # the runner creates it before the step
    env = {**os.environ, **GIT_ENV, "BASE": base, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", str(script)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done, summary.read_text()


def heading(summary: str) -> str:
    assert summary.strip(), "the step wrote nothing to the job summary"
    first = summary.splitlines()[0]
    assert first.startswith("## tf check"), f"not tf check's report:\n{summary[:2000]}"
    return first


# The workflow's structure.

def test_the_workflow_runs_on_pull_requests_and_pushes_to_main():
    triggers = load_workflow()["on"]  # YAML 1.2: `on` is a string key, not true
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]


def test_the_check_job_checks_out_the_whole_history_for_tf_check_base():
    steps = steps_of("check")
    checkouts = [i for i, step in enumerate(steps)
                 if step.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 1
    assert steps[checkouts[0]]["with"]["fetch-depth"] == 0  # 0: every commit, every branch
    assert checkouts[0] < steps.index(check_base_step())


def test_a_second_job_runs_make_lint_and_make_test():
    others = {name: job for name, job in load_workflow()["jobs"].items() if name != "check"}
    commands = {name: [step.get("run", "").strip() for step in job["steps"]]
                for name, job in others.items()}
    assert any("make lint" in runs and "make test" in runs for runs in commands.values()), \
        commands


# The `tf check --base` step, run.

def test_a_pull_request_adding_a_valid_example_passes_and_the_summary_lists_it(tmp_path):
    repo, example_id = feature_branch(tmp_path, valid)
    # A pull request's BASE is origin/<base branch>; here the base branch itself.
    done, summary = run_check_step(repo, base="main")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in heading(summary)
    assert f"+ added {example_id}" in summary
    assert "validate_intent: +1 -0 ~0" in summary


def test_a_base_missing_from_the_repository_checks_without_a_diff(tmp_path):
    repo, example_id = feature_branch(tmp_path, valid)
    done, summary = run_check_step(repo, base=NO_COMMIT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in heading(summary)
    assert example_id not in summary  # the else branch: tf check without --base, no diff


def test_a_broken_example_fails_the_step_and_the_summary_is_still_written(tmp_path):
    repo, example_id = feature_branch(tmp_path, without_outputs)
    done, summary = run_check_step(repo, base="main")
    assert done.returncode != 0, summary
    assert "failed" in heading(summary)
    problems = [line for line in summary.splitlines() if line.startswith(f"{EXAMPLES}:")]
    assert len(problems) == 1 and '"outputs" is a required property' in problems[0], summary
    assert f"+ added {example_id}" in summary  # the diff is there too


def test_the_check_job_publishes_the_report_and_the_test_job_its_screenshot():
    """tf report's page is a CI artifact of every run, pass or fail; so is the screenshot
    tests/docs/test_report.py takes."""
    check = steps_of("check")
    report = next(s for s in check if s.get("name") == "tf report")
    assert report["run"].split() == ["tf", "report", "--html", "tf-report.html"]
    upload = check[check.index(report) + 1]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == "tf-report.html"
    assert report["if"] == upload["if"] == "always()"
    kept = [s for s in steps_of("test") if "upload-artifact" in s.get("uses", "")]
    assert [s["with"]["path"] for s in kept] == ["test-artifacts/"]
