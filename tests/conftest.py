"""Shared fixtures: throw-away tf projects and two runners for `tf`. `run_tf` calls the CLI's
entry function (tf_cli.main.run) in the test process: the same arguments, exit codes and
output, without a Python start and tf's imports per call. `run_tf_process` starts the real
`python -m tf_cli` in a fresh process, for the tests whose point is the process itself
(start-up imports, kill -9, signals, terminals, concurrent writers, everything it prints);
tests/cli/test_entry_point.py checks that both give the same results.

Tests never read or write the live datasets/, params.yaml or dvc.lock of this repository:
those grow with every accepted example, and `make repro` checks them (`tf check`,
`tf fmt --check`). Tests that need realistic data use tests/fixture-project/, a frozen copy
of params.yaml and datasets/ taken on the day the tests were written, next to the
repository's code (schemas/, stages/, tf_cli/, dvc.yaml): schemas are code and change with
the tests, so a schema change that invalidates the fixture data updates tests/fixture-project
in the same commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import warnings
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


def run_tf_process(*args: str, cwd: Path, input: str | None = None,
                   env: dict | None = None, timeout: float = 300) -> Result:
    """Run `python -m tf_cli ARGS` in a fresh process, as a user's shell would; a command
    still running after `timeout` seconds fails the test."""
    proc = subprocess.run(
        [sys.executable, "-m", "tf_cli", *args], cwd=cwd, input=input, capture_output=True,
        text=True, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
        timeout=timeout,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


class _TimedOut(BaseException):
    """Raised in the test thread when an in-process command outlives its timeout (a
    BaseException, so tf's `except Exception` handlers cannot swallow it)."""


def _text_stream(data: bytes = b"") -> io.TextIOWrapper:
    """A text stream over bytes with a .buffer, as a pipe is (not a terminal)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=None,
                            write_through=True)


def _read(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8", errors="replace")  # type: ignore[attr-defined]


def _forget_process_state() -> None:
    """What a new process would not have: tf's Rich consoles (they read the environment and
    the terminal when made) and DSPy's LM cache (its memory part, and the disk folder it
    read from DSPY_CACHEDIR when built; its key leaves out the api_base, so one test
    server's answers would be another's)."""
    from tf_cli import console

    for name in dir(console):
        with contextlib.suppress(AttributeError):
            getattr(console, name).cache_clear()
    dspy = sys.modules.get("dspy")
    if dspy is not None:
        with dspy._cache_lock:
            dspy.__dict__.pop("cache", None)  # built again, from the environment, on first use


@contextlib.contextmanager
def _as_a_process_would(stderr: io.TextIOWrapper):
    """Log records and warnings to this run's stderr, as in a process of its own: a logging
    handler made at import (litellm makes one) holds the stream of that moment (pytest's, or
    an earlier run's), and pytest would otherwise collect the warnings a user sees."""
    moved = []
    loggers = [logging.getLogger(), *(logging.getLogger(name)
                                      for name in list(logging.root.manager.loggerDict))]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if type(handler) is logging.StreamHandler:  # not a FileHandler
                moved.append((handler, handler.stream))
                handler.setStream(stderr)
    with warnings.catch_warnings():
        warnings.resetwarnings()  # a fresh interpreter's filters, not pytest's
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                         ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.showwarning = lambda message, category, filename, lineno, file=None, \
            line=None: stderr.write(warnings.formatwarning(message, category, filename,
                                                           lineno, line))
        try:
            yield
        finally:
            for handler, stream in moved:
                handler.setStream(stream)


def run_tf(*args: str, cwd: Path, input: str | None = None, env: dict | None = None,
           timeout: float = 300) -> Result:
    """`tf ARGS` in this process: tf_cli.main.run(argv) with the working directory, the
    environment (NO_COLOR=1, COLUMNS=200 and `env`), stdin (`input`, or an empty pipe),
    stdout and stderr of a subprocess run, all restored afterwards. The same Result as
    run_tf_process. An exception escaping run() is a bug and fails the test, as a traceback on
    stderr fails run_tf_process; so does a command still running after `timeout` seconds."""
    from tf_cli import main

    stdin, stdout, stderr = _text_stream((input or "").encode()), _text_stream(), _text_stream()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    # The working directory, environment and streams are the process's: one run at a time.
    assert threading.current_thread() is threading.main_thread(), \
        "run_tf changes process-wide state; concurrent runs need run_tf_process"
    timer = timeout > 0
    if timer:
        def expire(signum, frame):
            raise _TimedOut()

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        os.environ.update({"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        _forget_process_state()
        try:
            with _as_a_process_would(stderr):
                code = main.run(list(args))
        except SystemExit as exc:  # as `python -m tf_cli` would exit
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except _TimedOut:
            pytest.fail(f"tf {' '.join(args)} still running after {timeout} s")
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        _forget_process_state()
    result = Result(code, _read(stdout), _read(stderr))
    assert "Traceback" not in result.stderr, result.stderr
    return result


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


def move_coverage_to_its_file(root: Path) -> None:
    """Move params.yaml's `coverage:` section into coverage.yaml, as this repository keeps it
    (the fixture's params.yaml predates coverage.yaml; tf reads either, the pipeline's
    dvc.yaml tracks coverage.yaml)."""
    lines = (root / "params.yaml").read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("coverage:"))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].strip() and not lines[i].startswith((" ", "#"))), len(lines))
    (root / "coverage.yaml").write_text("".join(line.removeprefix("  ")
                                                for line in lines[start + 1:end]))
    (root / "params.yaml").write_text("".join(lines[:start] + lines[end:]))


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
    move_coverage_to_its_file(target)
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
    """`tf ARGS` in `project`, in this process (run_tf)."""
    def run(*args: str, **kwargs) -> Result:
        return run_tf(*args, cwd=project, **kwargs)

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with a test marked slow first, in their order, then the others: with several
    workers (make test) the longest tests start at once instead of last."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


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


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    # Under pytest-xdist the controller hashes, before any worker runs a test and after all
    # have finished; its exit status is the run's.
    if not _is_xdist_worker(session.config):
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

