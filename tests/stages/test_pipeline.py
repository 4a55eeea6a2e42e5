"""The DVC pipeline end to end and offline, in a repository assembled from this one's code and
the fixture data (no dvc.lock, so the first repro runs every stage). Against the test server:
test_pipeline_lm.py, a module of its own so that pytest-xdist (make test: --dist loadfile)
runs it beside this one, whose tests share one module-scoped repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, assemble_repository, run_tf

# The offline pipeline runs on two signatures (a boolean and text; lists of strings): the
# stages are one foreach, the same code for each. Every signature's types go through the
# same step functions in test_every_signature.py, in-process; `make repro` (CI's last step)
# runs every signature of the project through DVC.
SIGNATURES = ["validate_intent", "validate_completeness"]
STAGES = ("bootstrap", "synthesize", "validate", "balance", "convert", "optimize", "effect")
# The modules of tf_cli and stages that the offline repro's stage processes imported.
LOADED: set[str] = set()
SECRET = "sk-test-9f8e7d6c5b4a-never-written"

pytestmark = pytest.mark.slow


def dvc(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **GIT_ENV, "DVC_NO_ANALYTICS": "1",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "DSPY_CACHEDIR": str(cwd / ".dspy_cache"), **(env or {})}
    for name in ("TF_LM_MODEL", "TF_LM_API_BASE", "TF_LM_API_KEY"):
        if name not in (env or {}):
            full_env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def only_signatures(clone: Path, names: list[str]) -> None:
    """Run the pipeline for these signatures only (pipeline.signatures): the tests that
    need every signature are the offline ones; the others prove the same code paths on
    fewer, to keep the suite fast."""
    from ruamel.yaml import YAML

    yaml = YAML()
    path = clone / "params.yaml"
    params = yaml.load(path)
    params["pipeline"]["signatures"] = names
    yaml.dump(params, path)


def report(clone: Path, signature: str, step: str) -> dict:
    return json.loads((clone / "reports" / signature / f"{step}.json").read_text())


@pytest.fixture(scope="module")
def offline_clone(tmp_path_factory) -> Path:
    clone = assemble_repository(tmp_path_factory.mktemp("offline") / "repo")
    only_signatures(clone, SIGNATURES)
    # every process Python starts lists the modules it imports on stderr: the stages too
    result = dvc("repro", cwd=clone, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    loaded = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    # the stages ran tf's code, and none of it from the CLI layer, which .dvcignore leaves
    # out of their deps (dvc.yaml)
    assert {"tf_cli.pipeline.validate", "tf_cli.pipeline.optimize", "stages._run"} <= loaded
    assert not [m for m in loaded if m.startswith("tf_cli.commands")]
    LOADED.update(m for m in loaded if m.split(".")[0] in ("tf_cli", "stages"))
    # No dvc.lock in the assembled repository: the first repro runs every stage.
    ran = set(re.findall(r"Running stage '([^']+)'", result.stdout))
    assert ran == {f"{stage}@{name}" for name in SIGNATURES for stage in (
        "bootstrap", "synthesize", "validate", "balance", "convert", "optimize", "effect")} | {
        "summary"}
    # each stage reports in words, not as a Python dict
    assert "validate validate_intent: accepted " in result.stdout
    assert ("optimize validate_intent: optimizer labeled_fewshot, baseline score percent -, "
            "optimized score percent -") in result.stdout
    assert "{'" not in result.stdout and "None" not in result.stdout
    return clone


def test_offline_repro_leaves_splits_programs_and_reports(offline_clone: Path):
    for name in SIGNATURES:
        folder = offline_clone / "data" / name
        assert (folder / "train.jsonl").stat().st_size > 0
        assert (folder / "dev.jsonl").exists()
        converted = json.loads((folder / "dspy.json").read_text())
        assert converted["input_keys"] and converted["train"]
        assert (offline_clone / "programs" / f"{name}.json").exists()
        result = report(offline_clone, name, "optimize")
        assert result["optimizer"] == "labeled_fewshot" and result["evaluated"] is False
        assert result["reason"].startswith("no language model configured")
        assert result["demos"] == 4 and result["lm_calls"] == 0
        validation = report(offline_clone, name, "validate")
        assert validation["accepted"] + validation["rejected"] > 0
        # The effect stage lists the demos and their buckets; it measures nothing offline.
        effect = report(offline_clone, name, "demos")
        assert effect["evaluated"] is False and effect["reason"] == "no language model configured"
        assert [d["id"] for d in effect["demos"]] == result["demos_chosen"]
        assert all(d["buckets"] and d["effect"] is None for d in effect["demos"])
        assert report(offline_clone, name, "effect")["lm_calls"] == 0
    assert "| validate_intent |" in (offline_clone / "summary" / "summary.md").read_text()
    assert "validate_completeness" in (offline_clone / "summary" / "report.html").read_text()


def test_dvc_metrics_are_a_few_numbers_per_signature(offline_clone: Path):
    """`dvc metrics show` is one table over every metrics file: with only scores.json as
    metrics (the step reports are plain outputs) it stays narrow enough to read."""
    shown = dvc("metrics", "show", cwd=offline_clone)
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert max(len(line) for line in shown.stdout.splitlines()) <= 160, shown.stdout
    for name in SIGNATURES:
        assert f"reports/{name}/scores.json" in shown.stdout
        result = report(offline_clone, name, "optimize")
        assert report(offline_clone, name, "scores") == {
            "baseline_score_percent": None, "optimized_score_percent": None,
            "dev_failures": None, "demos": result["demos"], "demos_bootstrapped": 0,
            "train": result["train"], "dev": result["dev"], "lm_calls": 0, "cost": 0.0}
    assert "validate.json" not in shown.stdout and "optimize.json" not in shown.stdout


def splits(clone: Path, signature: str) -> dict[str, str]:
    """id -> "train" or "dev"."""
    found = {}
    for split in ("train", "dev"):
        for line in (clone / "data" / signature / f"{split}.jsonl").open():
            found[json.loads(line)["id"]] = split
    return found


def test_an_edit_reruns_one_signature_and_moves_no_example_between_splits(
        offline_clone: Path):
    again = dvc("repro", cwd=offline_clone)
    assert again.returncode == 0 and "Data and pipelines are up to date" in again.stdout
    before = splits(offline_clone, "validate_intent")
    added = run_tf("add-example", "-s", "validate_intent", "--from-json", "-",
                   cwd=offline_clone, input=json.dumps({
                       "inputs": {"user_intent": "Export invoices as CSV",
                                  "implementation": "def export(): return to_pdf(invoices)"},
                       "outputs": {"intent_matches": False,
                                   "explanation": "It writes PDF files, but the user asked "
                                                  "for CSV exports."},
                       "metadata": {"difficulty": "easy", "category": "billing"}}))
    assert added.exit_code == 0
    rerun = dvc("repro", cwd=offline_clone)
    assert rerun.returncode == 0
    ran = set(re.findall(r"Running stage '([^']+)'", rerun.stdout))
    assert ran == {"synthesize@validate_intent", "validate@validate_intent",
                   "balance@validate_intent",
                   "convert@validate_intent", "optimize@validate_intent",
                   "effect@validate_intent", "summary"}
    after = splits(offline_clone, "validate_intent")
    assert len(after) == len(before) + 1
    assert all(after[example_id] == split for example_id, split in before.items())


def changed_stages(clone: Path) -> dict[str, set[str]]:
    """`dvc status`: stage -> the deps it reports changed."""
    status = json.loads(dvc("status", "--json", cwd=clone).stdout)
    return {stage: {dep for entry in entries if isinstance(entry, dict)
                    for dep in entry.get("changed deps", {})}
            for stage, entries in status.items()}


def test_an_edit_to_tf_code_reports_the_stages_that_run_it(offline_clone: Path,
                                                           tmp_path: Path):
    """Each stage depends on its script, stages/_run.py and the tf_cli package less the CLI
    layer (.dvcignore): editing a module of the package reports every stage, editing a
    stage's script reports that stage, and editing a CLI command or bytecode reports none.
    (The offline repro checked that no stage loads a module of the CLI layer.)"""
    import shutil

    clone = tmp_path / "repo"
    shutil.copytree(offline_clone, clone, symlinks=True)
    assert changed_stages(clone) == {}  # the tests before this one leave it up to date

    for path in (clone / "tf_cli" / "commands" / "status.py",
                 clone / "tf_cli" / "__pycache__" / "words.cpython-311.pyc"):
        path.parent.mkdir(exist_ok=True)
        with open(path, "ab") as out:
            out.write(b"\n# edited\n")
    assert changed_stages(clone) == {}

    with open(clone / "stages" / "balance.py", "a") as out:
        out.write("\n# edited\n")
    assert changed_stages(clone) == {f"balance@{name}": {"stages/balance.py"}
                                     for name in SIGNATURES}

    every_stage = {f"{stage}@{name}" for name in SIGNATURES for stage in STAGES} | {"summary"}
    with open(clone / "stages" / "__init__.py", "a") as out:  # every `python -m stages.X`
        out.write("\n# edited\n")
    changed = changed_stages(clone)
    assert set(changed) == every_stage
    assert all("stages/__init__.py" in deps for deps in changed.values()), changed

    with open(clone / "tf_cli" / "coverage" / "spread.py", "a") as out:
        out.write("\n# edited\n")
    changed = changed_stages(clone)
    assert set(changed) == every_stage
    assert all("tf_cli" in deps and "stages/__init__.py" in deps
               for deps in changed.values()), changed


def module_file(root: Path, module: str) -> str:
    """The file of `module` under `root`, relative to it (a package: its __init__.py)."""
    base = root.joinpath(*module.split("."))
    return (base / "__init__.py" if base.is_dir() else base.with_suffix(".py")) \
        .relative_to(root).as_posix()


def test_every_module_a_stage_imports_is_one_of_its_deps(offline_clone: Path):
    """The drift the edits above cannot rule out: every module of tf_cli and stages/ that a
    stage process imported lies under a dep every stage declares in dvc.yaml (a stage's
    own script: that stage's), and outside what .dvcignore hides from DVC."""
    from ruamel.yaml import YAML

    stages = YAML(typ="safe").load((offline_clone / "dvc.yaml").read_text())["stages"]
    ignored = ("tf_cli/commands/",)  # .dvcignore's folders (__pycache__/ holds no source)
    assert len(LOADED) > 40, sorted(LOADED)  # the repro ran, and the list is real
    uncovered = []
    for module in sorted(LOADED):
        path = module_file(offline_clone, module)
        for name, stage in stages.items():
            deps = (stage.get("do") or stage)["deps"]
            if path.startswith("stages/") and path[7:-3] in stages and path[7:-3] != name:
                continue  # another stage's own script
            if path.startswith(ignored) or not any(
                    path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps):
                uncovered.append(f"{name}: {path}")
    assert uncovered == []


def test_the_readme_pipeline_blocks_run_as_written(offline_clone: Path, tmp_path: Path):
    """README.md's `dvc repro`, single-stage and folder-remote blocks, one after the other
    in a copy of the repository the offline repro built (tests/docs/test_readme.py lists
    them in PIPELINE_BLOCKS and says what each must do)."""
    import shutil

    from tests.docs.test_readme import PIPELINE_BLOCKS, pipeline_blocks, run_blocks

    clone = tmp_path / "repo"
    shutil.copytree(offline_clone, clone, symlinks=True)
    run_blocks(pipeline_blocks(), PIPELINE_BLOCKS, clone)


def test_an_unreachable_model_is_a_clear_error(offline_clone: Path):
    """Last of this module: it leaves optimize@validate_intent failed in the shared clone."""
    params = offline_clone / "params.yaml"
    text = params.read_text()  # a refused connection is not worth waiting for again here
    quick = text.replace("  timeout: 60", "  max_retry_wait: 0\n  timeout: 60", 1)
    assert quick != text
    params.write_text(quick)
    env = {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": "http://127.0.0.1:9/v1"}
    result = dvc("repro", "--force", "--single-item", "optimize@validate_intent",
                 cwd=offline_clone, env=env)
    assert result.returncode != 0
    # The model is named once (not again in DSPy's "[openai/test-model]" prefix).
    assert ("error: openai/test-model at http://127.0.0.1:9/v1: failed to connect to "
            "127.0.0.1:9") in result.stderr
    assert "`tf lm check` tries one request" in result.stderr
    check = run_tf("lm", "check", cwd=offline_clone, env=env)
    assert check.exit_code == 1 and "Connection refused" in check.stderr
