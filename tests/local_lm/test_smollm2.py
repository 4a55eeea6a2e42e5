"""tf against a real small model: SmolLM2-135M-Instruct served by llama-cpp-python on
127.0.0.1 (`make local-lm`). Not part of `make test`: run `make test-local-lm` while the
server is up. Skipped unless TF_TEST_LOCAL_LM names the server's base URL.

What it shows: the token limit is honoured, `tf generate` finishes and accepts a share of
examples with the schema as the response format, the rejects file holds every failure's
answer, and one optimize writes scores whose scale and failures are explicit. The
acceptance rates with and without constraints are printed (`-s`) for the README.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.cli.test_generate import SIG, set_lm
from tests.conftest import fixture_project_at, run_tf

BASE = os.environ.get("TF_TEST_LOCAL_LM")
pytestmark = [pytest.mark.local_lm,
              pytest.mark.skipif(not BASE, reason="TF_TEST_LOCAL_LM is not set")]
# A small model on 2 cores: one request at a time, minutes per batch.
LOCAL = {"num_threads": 1, "timeout": 900, "deadline": 1800, "max_tokens": 1500,
         "cache": False}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = fixture_project_at(tmp_path)
    set_lm(root, **LOCAL)
    return root


def env() -> dict:
    return {"TF_LM_MODEL": "openai/smollm2", "TF_LM_API_BASE": BASE}


def test_lm_check_answers(project: Path):
    result = run_tf("lm", "check", "--format", "json", cwd=project, env=env())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["latency_s"] < 300


@pytest.mark.parametrize("mode", ["auto", "off"])
def test_generate_accepts_examples_and_keeps_the_evidence(project: Path, mode: str):
    set_lm(project, structured_output=mode)
    started = time.monotonic()
    result = run_tf("generate", "-s", SIG, "-n", "10", "--format", "json", cwd=project,
                    env=env(), timeout=3600)
    took = time.monotonic() - started
    summary = json.loads(result.stdout)
    accepted = summary["accepted"]
    assert result.exit_code == (0 if accepted else 1), result.stderr  # 1: none accepted
    print(f"\nstructured_output {mode}: accepted {accepted} of {summary['planned']} in "
          f"{took:.0f} s, {summary['calls']} requests, rejected {summary['rejected']}, "
          f"used {summary['structured_output']}")
    rejects = [json.loads(line) for line in
               (project / summary["rejects_file"]).read_text().splitlines()]
    assert sum(r.get("count", 1) for r in rejects) == sum(summary["rejected"].values())
    # Every rejection an answer caused shows the answer or the candidate it became.
    for reject in rejects:
        if reject["reason"] != "lm_error":
            assert reject.get("answer") or reject.get("candidate"), reject
    if mode == "auto":
        assert summary["structured_output"]["used"] == "json_object"  # llama-cpp-python's
        assert accepted > 0


def test_dvc_exp_run_on_one_signature_reports_its_scale_and_failures(tmp_path: Path):
    import subprocess
    import sys

    from tests.conftest import GIT_ENV, assemble_repository
    from tests.stages.test_pipeline import only_signatures, report

    clone = assemble_repository(tmp_path / "repo")
    signature = "validate_intent"
    only_signatures(clone, [signature])
    set_lm(clone, **LOCAL)
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "run", f"optimize@{signature}",
         "-S", "synthesize.count=0", "-S", "optimize.optimizer=bootstrap_fewshot"],
        cwd=clone, capture_output=True, text=True, timeout=3600,
        env={**os.environ, **GIT_ENV, **env(), "DVC_NO_ANALYTICS": "1",
             "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = report(clone, signature, "optimize")
    scores = report(clone, signature, "scores")
    print(f"\ndvc exp run optimize@{signature} in {time.monotonic() - started:.0f} s: "
          f"{json.dumps(scores)}; structured output {result['structured_output']}")
    assert result["evaluated"] is True
    assert 0 <= scores["optimized_score_percent"] <= 100
    assert set(scores["dev_failures"]) == {"baseline", "optimized"}
    assert result["demos"] == result["demos_bootstrapped"] + result["demos_labelled"]
