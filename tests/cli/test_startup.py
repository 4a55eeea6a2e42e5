"""tf starts fast: the heavy libraries stay out of `tf --help` and `tf validate`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, fixture_project_at

HEAVY = ("dspy", "dvc", "duckdb", "litellm", "pandas")


def _imported_modules(*args: str, cwd: Path) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "tf_cli", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.split("|")[-1].strip().split(".")[0]
            for line in proc.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--help",), ("validate",), ("fmt", "--check")])
def test_heavy_libraries_are_not_imported(args, tmp_path: Path):
    project = fixture_project_at(tmp_path / "project")
    assert not _imported_modules(*args, cwd=project) & set(HEAVY)


def test_every_command_is_documented_in_the_readme():
    from tf_cli.main import app

    readme = (REPO / "README.md").read_text()
    for command in app.registered_commands:
        assert f"tf {command.name}" in readme, f"README.md does not mention tf {command.name}"
