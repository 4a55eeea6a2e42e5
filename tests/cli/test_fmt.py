"""tf fmt: canonical rewrite, --check, and never losing or reordering data."""

from __future__ import annotations

import json
import shutil

from tests.conftest import EXAMPLE_FILES

NOT_CANONICAL = EXAMPLE_FILES / "positive" / "valid_not_canonical" / "datasets"
CANONICAL = EXAMPLE_FILES / "positive" / "valid_canonical" / "datasets"
FILE = "datasets/validate_completeness/examples.jsonl"


def test_check_lists_files_that_would_change_and_exits_one(project, tf):
    shutil.copytree(NOT_CANONICAL, project / "datasets", dirs_exist_ok=True)
    before = (project / FILE).read_bytes()
    result = tf("fmt", "--check")
    assert (result.exit_code, result.stdout) == (1, f"would reformat {FILE}\n")
    assert (project / FILE).read_bytes() == before


def test_fmt_rewrites_canonically_in_the_same_order_and_is_idempotent(project, tf):
    shutil.copytree(NOT_CANONICAL, project / "datasets", dirs_exist_ok=True)
    result = tf("fmt")
    assert (result.exit_code, result.stdout) == (0, f"reformatted {FILE}\n")
    lines = (project / FILE).read_bytes().splitlines(keepends=True)
    assert [json.loads(line)["id"] for line in lines] == [
        "01JDQ7Z8K3M2N4P5Q6R7S8T901", "01JDQ7Z8K3M2N4P5Q6R7S8T902", "01JDQ7Z8K3M2N4P5Q6R7S8T903"]
    assert "Done — both met." in lines[2].decode()  # UTF-8 kept unescaped
    assert lines[2].startswith(b'{"id":') and b": " not in lines[2]
    assert tf("fmt", "--check").exit_code == 0
    assert tf("validate").exit_code == 0
    assert (project / FILE).read_bytes() == b"".join(lines)


def test_fmt_repairs_bom_blank_lines_crlf_and_missing_final_newline(project, tf):
    shutil.copytree(CANONICAL, project / "datasets", dirs_exist_ok=True)
    canonical = (project / FILE).read_bytes()
    first, second, third = canonical.splitlines()
    (project / FILE).write_bytes(b"\xef\xbb\xbf" + first + b"\r\n\n  \n" + second + b"\n" + third)
    assert tf("validate").exit_code == 1
    assert tf("fmt").exit_code == 0
    assert (project / FILE).read_bytes() == canonical


def test_fmt_leaves_a_file_with_unfixable_lines_untouched(project, tf):
    shutil.copytree(NOT_CANONICAL, project / "datasets", dirs_exist_ok=True)
    original = (project / FILE).read_bytes() + b'{"id": "a", "id": "b"}\n{"broken": \n'
    (project / FILE).write_bytes(original)
    result = tf("fmt")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f'{FILE}:4: duplicate key "id" in one object: JSON keeps only the last one; '
        "remove the other",
        f"{FILE}:5: column 12: invalid JSON: unexpected end of data"]
    assert (project / FILE).read_bytes() == original
    # no temporary file left behind (the writers' lock file stays, as lock files do)
    assert sorted(p.name for p in (project / FILE).parent.iterdir()) == [
        "examples.jsonl", "examples.jsonl.lock"]


def test_fmt_keeps_file_permissions(project, tf):
    shutil.copytree(NOT_CANONICAL, project / "datasets", dirs_exist_ok=True)
    (project / FILE).chmod(0o640)
    assert tf("fmt").exit_code == 0
    assert (project / FILE).stat().st_mode & 0o777 == 0o640
