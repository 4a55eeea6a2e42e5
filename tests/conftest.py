"""Shared fixtures: a throw-away tf project and a runner for the real `tf` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every process the tests start stays offline: DSPy would otherwise fetch a price map.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

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


GIT_ENV = {"GIT_AUTHOR_NAME": "tf tests", "GIT_AUTHOR_EMAIL": "tests@example.com",
           "GIT_COMMITTER_NAME": "tf tests", "GIT_COMMITTER_EMAIL": "tests@example.com"}


def clone_repository(target: Path) -> Path:
    """A git clone of this repository as it is on disk now (uncommitted files included),
    committed, with this Python's environment as .venv."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(target)],
                   check=True, capture_output=True)
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True, text=True).stdout
    for name in listed.split():
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    (target / ".venv").symlink_to(Path(sys.prefix))
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "add", "-A"], cwd=target, check=True, env=env)
    subprocess.run(["git", "commit", "--quiet", "--allow-empty", "-m", "test state"],
                   cwd=target, check=True, env=env)
    return target


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
