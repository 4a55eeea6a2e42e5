"""Golden files: every bad-input case under tests/example-files/ and what tf reports.

Each case folder holds a datasets/ tree (and schemas/ overrides, if any) laid over a copy
of the repository's schemas, plus `expected.txt`: "exit N", then the exact stdout of
`tf validate`. To update after an intended change: TF_REGEN_GOLDEN=1 pytest, then read
the diff of every expected.txt before committing it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILES, run_tf

CASES = sorted(p for kind in ("negative", "positive") for p in (EXAMPLE_FILES / kind).iterdir())


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_validate_reports_exactly_the_golden_output(case: Path, project: Path):
    shutil.copytree(case, project, dirs_exist_ok=True)
    (project / "expected.txt").unlink(missing_ok=True)
    result = run_tf("validate", cwd=project)
    actual = f"exit {result.exit_code}\n{result.stdout}"
    expected_file = case / "expected.txt"
    if os.environ.get("TF_REGEN_GOLDEN"):
        expected_file.write_text(actual)
    assert actual == expected_file.read_text()
    if case.parent.name == "negative":
        assert result.exit_code in (1, 2)
    else:
        assert result.exit_code == 0 and result.stdout == ""
