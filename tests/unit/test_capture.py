"""tf_cli.capture, the call a running application makes: through the public API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tf_cli
from tests.conftest import FIXTURE_PARAMS, run_tf

PROBLEM_INPUTS = {"subject": "physics", "topic": "free fall", "difficulty_level": "easy"}
PROBLEM_OUTPUTS = {"problem": "A stone falls from rest for 2 s. How far does it fall?",
                   "answer": "19.6 m", "hints": ["Use s = g t^2 / 2."],
                   "solution": "s = 9.8 * 2^2 / 2 = 19.6 m."}
CAPTURED = "datasets/generate_problem/captured.jsonl"


@pytest.fixture
def app_project(project: Path) -> Path:
    shutil.copy(FIXTURE_PARAMS, project / "params.yaml")  # capture.min_quality: 0.7
    return project


def captured(project: Path) -> list[dict]:
    path = project / CAPTURED
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_an_accepted_example_is_appended_pending_review(app_project: Path):
    result = tf_cli.capture("generate_problem", PROBLEM_INPUTS, PROBLEM_OUTPUTS, quality=0.93,
                            metadata={"category": "physics", "difficulty": "easy"},
                            project=app_project)
    assert result.accepted and result.reason is None
    [record] = captured(app_project)
    assert record["id"] == result.id
    assert record["metadata"]["source"] == "production"
    assert record["metadata"]["review"] == {"status": "pending"}
    assert record["metadata"]["quality"] == {"score": 0.93}
    assert run_tf("validate", cwd=app_project).exit_code == 0
    assert run_tf("fmt", "--check", cwd=app_project).exit_code == 0


def test_rejected_examples_return_the_reason_and_write_nothing(app_project: Path):
    low = tf_cli.capture("generate_problem", PROBLEM_INPUTS, PROBLEM_OUTPUTS, quality=0.4,
                         project=app_project)
    assert not low.accepted and low.reason == "quality 0.4 is below capture.min_quality 0.7"
    invalid = tf_cli.capture("generate_problem", {"subject": "physics"}, PROBLEM_OUTPUTS,
                             project=app_project)
    assert not invalid.accepted
    assert '$.inputs: "topic" is a required property' in invalid.reason
    unknown = tf_cli.capture("summarize", {}, {}, project=app_project)
    assert not unknown.accepted and 'unknown signature "summarize"' in unknown.reason
    inside = tf_cli.capture("generate_problem", PROBLEM_INPUTS, PROBLEM_OUTPUTS,
                             project=app_project / "datasets")  # a folder inside the project
    assert inside.accepted  # the project is found by walking up, as git does
    assert len(captured(app_project)) == 1


def test_capture_outside_any_project_returns_a_reason(tmp_path: Path):
    result = tf_cli.capture("generate_problem", PROBLEM_INPUTS, PROBLEM_OUTPUTS,
                            project=tmp_path)
    assert not result.accepted and "no schemas/ folder" in result.reason


def test_capture_imports_no_heavy_library(app_project: Path):
    code = ("import sys, tf_cli; r = tf_cli.capture('generate_problem', "
            f"{PROBLEM_INPUTS!r}, {PROBLEM_OUTPUTS!r}); assert r.accepted, r; "
            "print(sorted(m for m in ('dspy', 'dvc', 'duckdb', 'litellm', 'pandas') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=app_project, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
