"""The real `tf` process: its exit codes, and that the in-process runner most tests use
(conftest.run_tf) gives what the process gives, output for output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import fixture_project_at, run_tf, run_tf_process

BROKEN = b'{"id": "01JDQ7Z8K3M2N4P5Q6R7S8T9ZZ", "inputs": {}}\n'


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> tuple[Path, Path]:
    """The fixture project, and a copy with one line that breaks its schema."""
    good = fixture_project_at(tmp_path_factory.mktemp("good") / "project")
    bad = fixture_project_at(tmp_path_factory.mktemp("bad") / "project")
    with open(bad / "datasets" / "validate_intent" / "examples.jsonl", "ab") as out:
        out.write(BROKEN)
    return good, bad


CASES = [  # (project, arguments, exit code)
    ("good", ("validate",), 0),
    ("good", ("check", "--format", "json"), 0),
    ("good", ("coverage", "-s", "validate_intent"), 0),
    ("good", ("--help",), 0),
    ("bad", ("validate", "--format", "json"), 1),
    ("bad", ("fmt", "--check"), 1),
    ("good", ("validate", "--format", "xml"), 2),
    ("good", ("no-such-command",), 2),
    ("good", ("validate", "--signature", "nope"), 2),
]


@pytest.mark.parametrize("which, args, code", CASES, ids=[" ".join(c[1]) for c in CASES])
def test_in_process_and_a_real_process_give_the_same_result(projects, which, args, code):
    cwd = projects[0] if which == "good" else projects[1]
    real = run_tf_process(*args, cwd=cwd)
    assert real.exit_code == code, real
    assert run_tf(*args, cwd=cwd) == real


def test_the_installed_tf_script_exits_with_tf_codes(projects):
    """The console script of pyproject.toml (tf_cli.main:main), as a shell runs it."""
    script = Path(sys.executable).parent / "tf"
    assert script.exists(), f"{script}: install the package (make test does)"
    good, bad = projects
    for cwd, args, code in ((good, ["validate"], 0), (bad, ["validate"], 1),
                            (good, ["validate", "--format", "xml"], 2)):
        proc = subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == code, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
