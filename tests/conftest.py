"""Shared fixtures: throw-away tf projects and a runner for the real `tf` command.

Tests never read or write the live datasets/, params.yaml or dvc.lock of this repository:
those grow with every accepted example, and `make repro` checks them (`tf check`,
`tf fmt --check`). Tests that need realistic data use tests/fixture-project/, a frozen copy
of params.yaml and datasets/ taken on the day the tests were written, next to the
repository's code (schemas/, stages/, tf_cli/, dvc.yaml): schemas are code and change with
the tests, so a schema change that invalidates the fixture data updates tests/fixture-project
in the same commit.
"""

from __future__ import annotations

import hashlib
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
# The frozen data: params.yaml and datasets/ only (schemas come from REPO).
FIXTURE_PROJECT = Path(__file__).resolve().parent / "fixture-project"
FIXTURE_PARAMS = FIXTURE_PROJECT / "params.yaml"

# The repository's code, as an assembled test repository gets it: what the pipeline, the
# pre-commit hooks and tf need, and none of the live data or its derived files (dvc.lock,
# datasets/, params.yaml, data/, reports/, programs/).
CODE = (".dvc/config", ".dvcignore", ".gitattributes", ".gitignore",
        ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "dvc.yaml", "pyproject.toml",
        "schemas", "stages", "tf_cli")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_tf(*args: str, cwd: Path, input: str | None = None, env: dict | None = None,
           timeout: float = 300) -> Result:
    """Run `python -m tf_cli ARGS` in a fresh process, as a user's shell would; a command
    still running after `timeout` seconds fails the test."""
    proc = subprocess.run(
        [sys.executable, "-m", "tf_cli", *args], cwd=cwd, input=input, capture_output=True,
        text=True, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
        timeout=timeout,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


GIT_ENV = {"GIT_AUTHOR_NAME": "tf tests", "GIT_AUTHOR_EMAIL": "tests@example.com",
           "GIT_COMMITTER_NAME": "tf tests", "GIT_COMMITTER_EMAIL": "tests@example.com"}


def copy_fixture_data(target: Path) -> Path:
    """tests/fixture-project's params.yaml and datasets/ into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE_PARAMS, target / "params.yaml")
    shutil.copytree(FIXTURE_PROJECT / "datasets", target / "datasets")
    return target


def fixture_project_at(target: Path) -> Path:
    """A tf project at `target`: the repository's schemas, the fixture data, no git."""
    copy_fixture_data(target)
    shutil.copytree(REPO / "schemas", target / "schemas")
    return target


def assemble_repository(target: Path) -> Path:
    """A fresh git repository at `target`: this repository's code as it is on disk now
    (uncommitted files included), the fixture's params.yaml and datasets/, committed, with
    this Python's environment as .venv. No dvc.lock: the first `dvc repro` runs every stage."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *CODE],
        cwd=REPO, check=True, capture_output=True, text=True).stdout
    target.mkdir(parents=True)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    copy_fixture_data(target)
    (target / ".venv").symlink_to(Path(sys.prefix))
    env = {**os.environ, **GIT_ENV}
    for command in (["init", "--quiet", "-b", "main"], ["add", "-A"],
                    ["commit", "--quiet", "-m", "test state"]):
        subprocess.run(["git", *command], cwd=target, check=True, capture_output=True, env=env)
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty tf project with the repository's schemas and no data."""
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    (tmp_path / "datasets").mkdir()
    return tmp_path


@pytest.fixture
def fixture_project(tmp_path: Path) -> Path:
    """A tf project with the repository's schemas and the fixture's params.yaml and data."""
    return fixture_project_at(tmp_path / "fixture")


@pytest.fixture
def tf(project: Path):
    def run(*args: str, **kwargs) -> Result:
        return run_tf(*args, cwd=project, **kwargs)

    return run


# A guard: no test may write into the live datasets/ or the frozen fixture. Their files are
# hashed when the session starts and again when it ends; a difference fails the session.
GUARDED = (REPO / "datasets", FIXTURE_PROJECT)
_DIGEST = pytest.StashKey[str]()
_CHANGED = pytest.StashKey[bool]()


def _digest() -> str:
    digest = hashlib.sha256()
    for root in GUARDED:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_DIGEST] = _digest()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.stash.get(_DIGEST, None) not in (None, _digest()):
        session.config.stash[_CHANGED] = True
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if config.stash.get(_CHANGED, False):
        terminalreporter.write_line(
            "FAILED: datasets/ or tests/fixture-project/ changed during the test session: a "
            "test wrote into them (tests must copy them), or another process edited them "
            "meanwhile", red=True, bold=True)

