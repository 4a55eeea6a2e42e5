"""tf generate against the test server: gap filling, faults, and an interrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import GIT_ENV, fixture_project_at, run_tf
from tests.lm_server import LMServer
from tf_cli.render.generate import summary_lines

SIG = "validate_completeness"
SYNTHETIC = f"datasets/{SIG}/synthetic.jsonl"


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return fixture_project_at(tmp_path)


def set_lm(project: Path, **values) -> None:
    yaml = YAML()
    params = yaml.load(project / "params.yaml")
    params["lm"].update(values)
    yaml.dump(params, project / "params.yaml")


def lm_env(server: LMServer, project: Path) -> dict:
    return {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base,
            "DSPY_CACHEDIR": str(project / ".dspy_cache")}


def cell_gaps(project: Path) -> dict[str, int]:
    result = run_tf("coverage", "-s", SIG, "--gaps", "--format", "json", cwd=project)
    gaps = json.loads(result.stdout)["signatures"][0]["gaps"]
    return {json.dumps(g["cell"], sort_keys=True): g["need"] for g in gaps if "cell" in g}


def synthetic(project: Path) -> list[dict]:
    path = project / SYNTHETIC
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_fill_gaps_adds_valid_examples_to_the_named_cells(repo_copy: Path):
    before = cell_gaps(repo_copy)
    assert before  # the shipped data has gaps
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, "--count", "30", "--fill-gaps", "--format",
                        "json", cwd=repo_copy, env=lm_env(server, repo_copy))
        requests = server.state.requests
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    added = synthetic(repo_copy)
    assert summary["accepted"] == len(added) == sum(before.values())
    # Fewer than the 30 asked for, and the plan says why.
    need = sum(before.values())
    assert need < 30 and summary["planned"] == need and summary["requested"] == 30
    assert summary["limits"][0] == (f"the gaps need {need} examples; --fill-gaps plans only "
                                    "for gaps")
    assert summary["limits"][1] == (
        "gaps with no cell to target are not planned (target of 50 examples: 28; security "
        "examples: 1): without --fill-gaps, --count examples are spread over the buckets")
    assert summary_lines(summary, [], SIG)[0] == (
        f"planned {need} of 30: the gaps need {need} examples; --fill-gaps plans only for "
        f"gaps; {summary['limits'][1]}")
    # Every request sent is counted: the reachability probe and one per batch of 5.
    assert summary["calls"] == requests == 1 + -(-need // 5)
    targeted = {}
    for record in added:
        metadata = record["metadata"]
        assert metadata["source"] == "synthetic" and metadata["review"] == {"status": "pending"}
        assert metadata["provenance"]["model"] == "openai/test-model"
        assert metadata["provenance"]["strategy"] in ("fresh_scenario", "variation",
                                                      "edge_case", "adversarial")
        cell = {k: v for k, v in metadata["provenance"]["target_cell"].items()
                if k != "difficulty"}
        key = json.dumps(cell, sort_keys=True)
        targeted[key] = targeted.get(key, 0) + 1
    assert targeted == before
    assert summary["gap_examples_needed_after"] == 0  # the plan is complete...
    assert cell_gaps(repo_copy) == before  # ...but pending examples fill no gap yet
    assert run_tf("validate", cwd=repo_copy).exit_code == 0
    approved = run_tf("review", "-s", SIG, "--approve-all", "--where", "true",
                      cwd=repo_copy, env=GIT_ENV)
    assert approved.exit_code == 0, approved.stderr
    assert cell_gaps(repo_copy) == {}
    assert run_tf("check", cwd=repo_copy).exit_code == 0


def test_faults_are_retried_or_reported_with_evidence_and_valid_examples_kept(
        repo_copy: Path):
    set_lm(repo_copy, timeout=2, num_threads=1)
    with LMServer() as server:
        server.state.faults = ["none", "429", "500", "timeout", "malformed_one", "not_json"]
        result = run_tf("generate", "-s", SIG, "--count", "20", "--format", "json",
                        cwd=repo_copy, env=lm_env(server, repo_copy))
        requests = server.state.requests
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["planned"] == 20
    # Batch 1: 429 and 500 are retried; then it times out, and a request that timed out on
    # a server on this machine is not sent again (the server would still be busy with it).
    # Batch 2 has one broken example, batch 3 no JSON at all, batch 4 is whole.
    assert requests == 7 == summary["calls"]  # probe + 3 attempts + 3 batches, no more
    assert summary["accepted"] == 9 == len(synthetic(repo_copy))
    assert summary["rejected"] == {"lm_error": 5, "invalid": 1, "malformed": 5}
    failures = summary["failures"]
    assert len(failures) == 4, failures
    assert any("429" in f and "retrying in 1 s" in f for f in failures)  # Retry-After: 1
    assert any("500" in f and "retrying" in f for f in failures)
    assert any("no answer within 2 s (lm.timeout in params.yaml)" in f and "batch lost" in f
               for f in failures)
    assert not any("Timeouts(" in f or "timed out" in f for f in failures)
    assert any("the answer holds no JSON object or list" in f for f in failures)
    # Each rejection is in the rejects file with what the model said.
    assert summary["rejects_file"] == f"reports/{SIG}/generate.rejects.jsonl"
    rejects = [json.loads(line) for line in
               (repo_copy / summary["rejects_file"]).read_text().splitlines()]
    by_reason = {reason: [r for r in rejects if r["reason"] == reason]
                 for reason in summary["rejected"]}
    assert [r["count"] for r in by_reason["lm_error"]] == [5]
    assert "lm.timeout" in by_reason["lm_error"][0]["detail"]
    assert [r["answer"] for r in by_reason["malformed"]] == ["Sorry, I can't help with that."]
    assert by_reason["malformed"][0]["count"] == 5 and len(by_reason["malformed"][0][
        "target_cells"]) == 5
    [invalid] = by_reason["invalid"]
    assert invalid["candidate"]["inputs"] == {"implementation": "x"}
    assert "requirements" in invalid["detail"] and invalid["target_cell"]
    assert len(invalid["prompt_hash"]) == 16 and invalid["answer"].startswith("```json")
    assert run_tf("validate", cwd=repo_copy).exit_code == 0


def test_an_interrupted_run_loses_nothing_and_a_rerun_duplicates_nothing(repo_copy: Path):
    set_lm(repo_copy, num_threads=1)
    before = cell_gaps(repo_copy)
    with LMServer() as server:
        server.state.delay = 0.5
        env = {**os.environ, **lm_env(server, repo_copy)}
        proc = subprocess.Popen([sys.executable, "-m", "tf_cli", "generate", "-s", SIG,
                                 "--count", "30", "--fill-gaps", "--batch-size", "2"],
                                cwd=repo_copy, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while len(synthetic(repo_copy)) < 4 and time.time() < deadline:
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kept = synthetic(repo_copy)
        assert 4 <= len(kept) < sum(before.values())
        assert run_tf("validate", cwd=repo_copy).exit_code == 0
        server.state.delay = 0.0
        rerun = run_tf("generate", "-s", SIG, "--count", "30", "--fill-gaps", "--format",
                       "json", cwd=repo_copy, env=lm_env(server, repo_copy))
    assert rerun.exit_code == 0
    assert json.loads(rerun.stdout)["gap_examples_needed_after"] == 0
    assert len(synthetic(repo_copy)) == sum(before.values())  # planned from what was kept
    final = synthetic(repo_copy)
    assert [r["id"] for r in final[:len(kept)]] == [r["id"] for r in kept]
    inputs = [json.dumps(r["inputs"], sort_keys=True) for r in final]
    assert len(set(inputs)) == len(inputs)
    assert run_tf("validate", cwd=repo_copy).exit_code == 0


def test_generate_without_a_model_says_how_to_configure_one(repo_copy: Path):
    result = run_tf("generate", "-s", SIG, cwd=repo_copy)
    assert result.exit_code == 2 and "no language model configured" in result.stderr


def set_quality(project: Path, **values) -> None:
    yaml = YAML()
    params = yaml.load(project / "params.yaml")
    params["quality"].update(values)
    yaml.dump(params, project / "params.yaml")


def test_quality_scores_and_the_lm_judge(repo_copy: Path):
    set_quality(repo_copy, judge=True, reject_below=0.5)
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, "--count", "4", "--batch-size", "2",
                        "--format", "json", cwd=repo_copy, env=lm_env(server, repo_copy))
        assert json.loads(result.stdout)["accepted"] == 4
        # the test server's judge answers 0.5 for every criterion; rule checks pass
        for record in synthetic(repo_copy):
            quality = record["metadata"]["quality"]
            assert quality["rules"] == 1.0 and quality["accuracy"] == 0.5
            assert quality["score"] == 0.6 and quality["reason"]
        set_quality(repo_copy, reject_below=0.7)
        strict = run_tf("generate", "-s", SIG, "--count", "2", "--format", "json",
                        cwd=repo_copy, env=lm_env(server, repo_copy))
    assert strict.exit_code == 1
    assert json.loads(strict.stdout)["rejected"] == {"quality": 2}


def test_demos_come_from_the_neighbouring_cell_and_the_summary_is_written(repo_copy: Path):
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, "--count", "1", "--fill-gaps",
                        cwd=repo_copy, env=lm_env(server, repo_copy))
        [prompt] = server.state.prompts
    assert result.exit_code == 0
    target = prompt.split("it must fall in: ", 1)[1].splitlines()[0]
    demos = json.loads(prompt.split("Demos of good examples:\n", 1)[1].splitlines()[0])
    outputs, inputs = demos[0]["outputs"], demos[0]["inputs"]
    bucket = ("full" if outputs["is_complete"] else "barely"
              if len(outputs["missing_requirements"]) * 2 > len(inputs["requirements"])
              else "partial")
    assert f"completion = {bucket}" in target
    written = json.loads((repo_copy / "reports" / SIG / "generate.json").read_text())
    assert written["accepted"] == 1 and written["planned"] == 1


def with_synthetic_max_share(project: Path, share: str) -> int:
    """Set the defaults' error-level synthetic_max_share; its line in params.yaml."""
    path = project / "params.yaml"
    lines = path.read_text().splitlines(keepends=True)
    [index] = [i for i, line in enumerate(lines) if "synthetic_max_share: 0.5" in line]
    lines[index] = lines[index].replace("0.5", share)
    path.write_text("".join(lines))
    return index + 1


def test_a_plan_cut_by_the_synthetic_share_says_so(repo_copy: Path):
    line = with_synthetic_max_share(repo_copy, "0.1")
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, "--count", "5", "--format", "json",
                        cwd=repo_copy, env=lm_env(server, repo_copy))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    allowed = int(0.1 * 22 / 0.9)  # 22 hand-written examples, none synthetic
    assert summary["planned"] == summary["accepted"] == allowed == 2
    assert summary["limits"] == [
        f"synthetic_max_share 0.1 (params.yaml:{line}) allows 2 more synthetic examples: 0 of "
        "22 examples are synthetic, those waiting for review included (add or approve "
        "non-synthetic examples, reject pending synthetic ones in tf review, or raise "
        "synthetic_max_share)"]


@pytest.mark.parametrize("case", ["share at its cap", "no gaps"])
def test_nothing_to_plan_is_explained_exits_0_and_leaves_no_file(repo_copy: Path, case):
    if case == "share at its cap":
        line = with_synthetic_max_share(repo_copy, "0.0")
        args, reason = ["--count", "30"], (
            f"synthetic_max_share 0.0 (params.yaml:{line}) allows 0 more synthetic examples: "
            "0 of 22 examples are synthetic")
    else:
        params = repo_copy / "params.yaml"
        text = params.read_text()
        start = text.index("        - {dimension: completion, bucket: full, min: 10")
        end = text.index("    validate_correctness:")
        params.write_text(text[:start].rstrip() + " []\n\n" + text[end:])
        args, reason = ["--fill-gaps"], (
            f"{SIG} has no gaps in a cell to fill; --fill-gaps plans only for gaps; gaps with "
            "no cell to target are not planned (target of 50 examples: 28): without "
            "--fill-gaps, --count examples are spread over the buckets")
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, *args, cwd=repo_copy,
                        env=lm_env(server, repo_copy))
        requests = server.state.requests
    assert result.exit_code == 0, result.stderr
    assert " ".join(result.stdout.split()).startswith(
        f"nothing to generate for {SIG}: {reason}")
    assert requests == 0  # the LM is not even probed
    assert not (repo_copy / "reports" / SIG / "generate.json").exists()
    assert synthetic(repo_copy) == []
