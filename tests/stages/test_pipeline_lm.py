"""The DVC pipeline against the OpenAI-compatible test server on 127.0.0.1, with
bootstrap_fewshot for a signature with boolean, list and text outputs. Every signature goes
through the pipeline offline in test_pipeline.py (one signature here: each more would add
seven stage processes, about 15 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import assemble_repository
from tests.lm_server import LMServer
from tests.stages.test_pipeline import SECRET, dvc, only_signatures, report

pytestmark = pytest.mark.slow
SIGNATURES = ["validate_completeness"]
SIG = SIGNATURES[0]


def test_pipeline_against_the_test_server(tmp_path: Path):
    clone = assemble_repository(tmp_path / "repo")
    only_signatures(clone, SIGNATURES)
    coverage_before = (clone / "coverage.yaml").read_bytes()
    with LMServer() as server:
        env = {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base,
               "TF_LM_API_KEY": SECRET}
        server.state.finish_reason = "length"  # DSPy logs a warning for each answer
        # The effect stage with a budget of two evaluations: the program and one bucket
        # (tests/stages/test_effect.py measures every effect against predicted values).
        run = dvc("exp", "run", "-S", "optimize.optimizer=bootstrap_fewshot",
                  "-S", "lm.cache=false", "-S", "effect.dimensions=[difficulty]",
                  "-S", "effect.max_lm_calls=12", cwd=clone, env=env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        server.state.finish_reason = "stop"
        # DSPy's log went to a file per stage, not into dvc's output.
        assert "truncated" not in run.stdout + run.stderr
        assert "LM response was truncated" in (
            clone / "reports" / SIG / "optimize.log").read_text()
        assert f"optimize {SIG}: DSPy's log: reports/{SIG}/optimize.log" in run.stdout
        # -S rewrote params.yaml; the hand-written requirements are in a file it never touches
        assert (clone / "coverage.yaml").read_bytes() == coverage_before
        calls_after_bootstrap = server.state.requests
        assert calls_after_bootstrap > 0
        for name in SIGNATURES:
            result = report(clone, name, "optimize")
            assert result["optimizer"] == "bootstrap_fewshot" and result["evaluated"] is True
            assert result["lm_calls"] > 0 and result["prompt_tokens"] > 0
            assert 0 <= result["baseline_score_percent"] <= 100
            assert result["dev_failures"] == {"baseline": 0, "optimized": 0}
            assert result["demos"] == result["demos_bootstrapped"] + result["demos_labelled"]
            assert result["structured_output"]["used"] == "json_schema"
            assert result["lm"]["token_limit_field"] == "max_tokens"
        effect = report(clone, SIG, "demos")
        dev = effect["dev"]
        assert effect["evaluated"] is True and 0 < dev <= 6, effect
        assert effect["evaluations"] == 12 // dev and effect["skipped"] > 0
        assert effect["buckets"][0]["effect"] is not None
        diff = dvc("metrics", "diff", "--md", cwd=clone)
        assert f"reports/{SIG}/scores.json" in diff.stdout
        assert "optimized_score_percent" in diff.stdout

        # The program loads from the schema and answers through the test server.
        code = ("import dspy, tf_cli, os\n"
                f"program = tf_cli.load_program('{SIG}')\n"
                "lm = dspy.LM('openai/test-model', api_base=os.environ['TF_LM_API_BASE'],"
                " api_key='x', cache=False)\n"
                "with dspy.context(lm=lm):\n"
                "    out = program(implementation='def f(): pass', requirements=['a', 'b'])\n"
                "print(type(out.is_complete).__name__, type(out.missing_requirements).__name__,"
                f" len(program.demos), len(tf_cli.load_examples('{SIG}', split='all')))\n")
        loaded = subprocess.run([sys.executable, "-c", code], cwd=clone, capture_output=True,
                                text=True, env={**os.environ, **env}, check=True)
        flag, listed, demos, examples = loaded.stdout.split()
        assert (flag, listed) == ("bool", "list")
        assert int(demos) == report(clone, SIG, "optimize")["demos"]
        split = [clone / "data" / SIG / f"{name}.jsonl" for name in ("train", "dev")]
        assert int(examples) == sum(len(path.read_text().splitlines()) for path in split) > 0

    # The optimize section is a dependency of the optimize stages alone: another optimizer
    # re-runs nothing upstream of them. (tests/stages/test_scaling.py runs mipro_v2 as an
    # experiment, from DVC's queue.)
    params = clone / "params.yaml"
    text = params.read_text()
    assert "optimizer: bootstrap_fewshot" in text  # as `dvc exp run -S` wrote it
    params.write_text(text.replace("optimizer: bootstrap_fewshot", "optimizer: mipro_v2", 1))
    status = json.loads(dvc("status", "--json", cwd=clone).stdout)
    assert status == {f"optimize@{SIG}": [
        {"changed deps": {"params.yaml": {"optimize": "modified"}}}]}, status

    for folder in ("reports", "data", "programs"):
        for path in (clone / folder).rglob("*"):
            if path.is_file():
                assert SECRET not in path.read_text(errors="replace"), path
    for name in ("dvc.lock", "params.yaml"):
        assert SECRET not in (clone / name).read_text()
