"""The README's shell examples run as written.

Every ```sh block of README.md is either run here, in a scratch repository assembled from
this repository's code and the frozen fixture data (tests/conftest.py), or run by
tests/stages/test_pipeline.py in the repository its pipeline built (PIPELINE_BLOCKS), or
listed in SKIPPED with the reason it cannot run in a test. A new block that is none of
these fails the suite, so an example cannot be added, or stop working, unnoticed.

Each block runs as one bash script with `set -euo pipefail`, `tf` and `dvc` from this
Python's environment first on PATH, and the setup its text assumes (a file it names, a
model to talk to: the local test server).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, REPO, assemble_repository
from tests.lm_server import LMServer
from tests.unit.test_what_a_pull_request_commits import COMMITTED
from tf_cli.ids import new_id

README = REPO / "README.md"


@dataclass(frozen=True)
class Block:
    line: int  # where the block starts in README.md
    text: str

    @property
    def key(self) -> str:
        """The block's first command, which names it below."""
        return next(line for line in self.text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")).strip()


def shell_blocks(text: str) -> list[Block]:
    return [Block(text[:m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```sh\n(.*?)^```$", text, flags=re.M | re.S)]


# Blocks a test cannot run, and why.
SKIPPED = {
    "make repro   # set up .venv, then tf check, tf fmt --check and dvc repro (offline is fine)":
        "it is CI itself (.ci/run runs make test, make lint, make repro)",
    "tf import tickets.csv --signature validate_completeness \\":
        "run, with the README's tickets.csv, by tests/cli/test_import.py::"
        "test_the_readme_import_example_works_as_written_and_its_rejects_file_is_ignored",
    "export TF_LM_MODEL=openai/smollm2 TF_LM_API_BASE=http://127.0.0.1:8765/v1":
        "needs the model `make local-lm` builds and serves (minutes of build, optional); "
        "tests/local_lm runs these commands against it (make test-local-lm)",
    "export TF_LM_MODEL=openai/gpt-4o-mini TF_LM_API_KEY=sk-...":
        "needs the reader's own model and key; tf lm check against a server is tested in "
        "tests/cli/test_hostile.py",
    ".venv/bin/pip install -e '.[s3]'                      # dvc-s3":
        "needs the reader's bucket and credentials; tests/stages/test_scaling.py sets up the "
        "same remote (dvc remote add -d, endpointurl) on an S3 server on 127.0.0.1 and pushes "
        "and pulls through it",
    "git rm -q --cached datasets/validate_completeness/captured.jsonl  # if git tracks it; "
    "the file stays":
        "needs an S3 remote: tests/stages/test_scaling.py runs this block as written (its "
        "`team` fixture), against the S3 test server, and pulls the file into a fresh clone",
    "dvc exp run --queue -n sweep -S 'optimize.optimizer=bootstrap_fewshot,mipro_v2' "
    "optimize@validate_intent":
        "needs a model and minutes of queue workers; tests/stages/test_scaling.py::"
        "test_a_queued_sweep_of_two_optimizers_runs_on_two_workers_and_exp_show_lists_both "
        "queues a sweep of two optimizers, runs it with -j 2 and reads dvc exp show, against "
        "the test LM server",
    "tf prune --dry-run          # what the policies would retire, and why; nothing changes":
        "the fixture sets no lifecycle policy and no example is retired: "
        "tests/cli/test_prune.py runs each of these commands on data built to be pruned, "
        "and checks the commits they make",
    "git pull                                # the commit the experiments ran on":
        "needs the workflow's experiments on a Git remote; tests/stages/test_scaling.py::"
        "test_two_runners_push_their_experiments_and_a_third_clone_compares_and_applies_one "
        "runs the workflow's steps in two clones, then dvc exp pull, show and apply in a third",
}


def _incoming(clone: Path, env: dict) -> None:
    """`tf validate incoming.jsonl --signature validate_intent`: a file outside datasets/,
    with a new example (a copy of one under a new id)."""
    examples = clone / "datasets" / "validate_intent" / "examples.jsonl"
    record = json.loads(examples.read_text().splitlines()[0])
    (clone / "incoming.jsonl").write_text(json.dumps({**record, "id": new_id()}) + "\n")


def _model(clone: Path, env: dict) -> None:
    """The README's generate needs a model (the local test server stands in), and its
    review a reviewer: one who approves the first example and rejects the rest."""
    server = LMServer().__enter__()
    env.update({"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base,
                "DSPY_CACHEDIR": str(clone / ".dspy_cache")})
    env["_server"] = server  # closed by the test
    env["_stdin"] = "a\n" + "r\n" * 100


def _summary_file(clone: Path, env: dict) -> None:
    env["GITHUB_STEP_SUMMARY"] = str(clone.parent / "step-summary.md")


DVC_BLOCK = "dvc repro                                   # rebuild what changed"
SINGLE_ITEM_BLOCK = "dvc repro --single-item --force optimize@validate_intent   # this stage only"


@dataclass(frozen=True)
class Run:
    setup: Callable[[Path, dict], None] | None = None
    stages: frozenset[str] | None = None  # the DVC stages the block runs, when the text says
    may_run: frozenset[str] = frozenset()  # and those it runs only if their deps changed
    says: tuple[str, ...] = ()  # what its output must contain, when the text says


# Blocks run here, with what each needs.
RUN: dict[str, Run] = {
    "echo '{\"inputs\": {\"user_intent\": \"Export invoices as CSV\",": Run(),
    "tf coverage --signature validate_completeness --gaps      # what is missing": Run(_model),
    "tf validate                          # every dataset and schema": Run(_incoming),
    "tf fmt            # rewrite every dataset file canonically": Run(),
    "tf report                            # every signature: summary/report.html": Run(),
    "tf coverage                                  # bucket counts per dimension, requirements":
        Run(_summary_file),
}

# The pipeline's blocks, in this order, in one clone: they run in the repository that
# tests/stages/test_pipeline.py has already built with `dvc repro` (a copy of it), by its
# test_the_readme_pipeline_blocks_run_as_written, with run_blocks below; building another
# would repeat the whole pipeline. Nothing changed since that repro, so the first block's
# `dvc repro` runs no stage.
PIPELINE_BLOCKS: dict[str, Run] = {
    DVC_BLOCK: Run(stages=frozenset(), says=("Data and pipelines are up to date.",)),
    SINGLE_ITEM_BLOCK:  # "this stage only", then the summary
        Run(stages=frozenset({"optimize@validate_intent"}), may_run=frozenset({"summary"})),
    # After a repro: push, clone, pull, no stage run.
    "dvc remote add -d --local storage ../tf-dvc-storage   # any folder; made by the first push":
        Run(stages=frozenset(), says=("Data and pipelines are up to date.",)),
}


def _blocks() -> list[Block]:
    return shell_blocks(README.read_text())


def test_every_shell_block_of_the_readme_is_run_or_skipped_with_a_reason():
    keys = [block.key for block in _blocks()]
    unknown = [key for key in keys if key not in RUN | PIPELINE_BLOCKS and key not in SKIPPED]
    assert not unknown, f"README blocks neither run nor skipped in {__file__}: {unknown}"
    stale = (set(RUN) | set(PIPELINE_BLOCKS) | set(SKIPPED)) - set(keys)
    assert not stale, f"listed here but no longer in README.md: {stale}"


def _params() -> list:
    return [pytest.param(block, id=f"README.md:{block.line}")
            for block in _blocks() if block.key in RUN]


@pytest.mark.parametrize("block", _params())
def test_readme_block_runs_as_written(block: Block, tmp_path: Path):
    run_blocks([block], RUN, assemble_repository(tmp_path / "repo"))


def run_blocks(blocks: list[Block], runs: dict[str, Run], clone: Path) -> None:
    """Run the blocks one after the other in `clone` (each block's setup first), checking
    what `runs` says of each; then that they left nothing lying around."""
    env: dict = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "COLUMNS": "200",
                 "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for block in blocks:
        if runs[block.key].setup:
            runs[block.key].setup(clone, env)
    server = env.pop("_server", None)
    stdin = env.pop("_stdin", "")
    set_up = _untracked(clone)  # what the setup wrote, such as incoming.jsonl
    try:
        for block in blocks:
            run = runs[block.key]
            output = _run(block, clone, env, stdin if block is blocks[-1] else "")
            if run.stages is not None:
                ran = set(re.findall(r"Running stage '([^']+)'", output))
                assert run.stages <= ran <= run.stages | run.may_run, (block.line, output)
            for said in run.says:
                assert said in output, (block.line, output)
    finally:
        if server:
            server.__exit__(None, None, None)
    # Nothing is left lying around: a new file is one the README says a pull request
    # commits (tests/unit/test_what_a_pull_request_commits.py), or git ignores it.
    left = [path for path in _untracked(clone) - set_up if not path.startswith(COMMITTED)]
    assert not left, f"README.md:{blocks[-1].line} leaves untracked files: {left}"


def pipeline_blocks() -> list[Block]:
    """PIPELINE_BLOCKS' blocks, in their order."""
    by_key = {block.key: block for block in _blocks()}
    return [by_key[key] for key in PIPELINE_BLOCKS]


def _untracked(clone: Path) -> set[str]:
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "-z"],
                            cwd=clone, capture_output=True, text=True, check=True).stdout
    return set(filter(None, listed.split("\0")))


def _run(block: Block, clone: Path, env: dict, stdin: str) -> str:
    """Run the block; its stdout."""
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block.text], cwd=clone,
                          env=env, capture_output=True, text=True, timeout=900, input=stdin)
    assert done.returncode == 0, (f"README.md:{block.line} failed ({done.returncode}):\n"
                                  f"{block.text}\n--- stdout\n{done.stdout[-3000:]}\n"
                                  f"--- stderr\n{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stdout
