"""The repository's own pre-commit hooks, run by pre-commit on a repository assembled from
this one's code and the fixture data.

ruff is skipped here: pre-commit would install it from PyPI, and tests stay offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import GIT_ENV, assemble_repository


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV}).stdout


def _pre_commit(cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SKIP": "ruff", "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_hooks_pass_on_the_repository_and_fail_on_a_bad_line(tmp_path: Path):
    clone = assemble_repository(tmp_path / "clone")

    passed = _pre_commit(clone, tmp_path / "pc")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "tf validate" in passed.stdout and "Passed" in passed.stdout
    assert "Installing environment" not in passed.stdout + passed.stderr

    dataset = clone / "datasets" / "validate_intent" / "examples.jsonl"
    line_count = dataset.read_bytes().count(b"\n")
    with open(dataset, "ab") as f:
        f.write(b'{"id": "01JDQ7Z8K3M2N4P5Q6R7S8T9ZZ", "inputs": {}}\n')
    _git("add", "-A", cwd=clone)
    failed = _pre_commit(clone, tmp_path / "pc")
    assert failed.returncode == 1
    where = f"datasets/validate_intent/examples.jsonl:{line_count + 1}:"
    assert f'{where} $: "outputs" is a required property' in failed.stdout
    assert "would reformat datasets/validate_intent/examples.jsonl" in failed.stdout
