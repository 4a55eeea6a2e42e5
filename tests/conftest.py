"""Shared fixtures: a throw-away tf project and a runner for the real `tf` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = Path(__file__).resolve().parent / "example-files"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_tf(*args: str, cwd: Path, input: str | None = None, env: dict | None = None) -> Result:
    """Run `python -m tf_cli ARGS` in a fresh process, as a user's shell would."""
    proc = subprocess.run(
        [sys.executable, "-m", "tf_cli", *args], cwd=cwd, input=input, capture_output=True,
        text=True, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty tf project with the repository's schemas and no data."""
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    (tmp_path / "datasets").mkdir()
    return tmp_path


@pytest.fixture
def tf(project: Path):
    def run(*args: str, **kwargs) -> Result:
        return run_tf(*args, cwd=project, **kwargs)

    return run
