"""Deletions survive merges: tf's id-keyed merge driver (as `make hooks` installs it), the
plain union merge it replaces, `tf check-merge` for merges made without the driver, and
the three-way merge function itself."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, REPO, run_tf
from tf_cli.merge import merge
from tf_cli.records import canonical_bytes, write_records

SIG = "validate_intent"
FILE = f"datasets/{SIG}/examples.jsonl"


def example(i: int, notes: str = "") -> dict:
    return {"id": f"01JDQ7Z8K3M2N4P5Q6R7S{i:05d}",
            "inputs": {"user_intent": f"Intent {i}", "implementation": f"code {i}"},
            "outputs": {"intent_matches": True,
                        "explanation": f"Explanation number {i}, long enough for the rule."},
            "metadata": {"source": "manual", "difficulty": "easy", "category": "api",
                         "created_at": "2026-11-20T10:00:00Z", "notes": notes}}


def ident(i: int) -> str:
    return example(i)["id"]


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, check=check, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV})


def commit(repo: Path, records: list[dict], message: str) -> str:
    write_records(repo / FILE, records)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "--short", "HEAD").stdout.strip()


def ids_in(repo: Path) -> list[str]:
    import json

    return [json.loads(line)["id"] for line in (repo / FILE).read_text().splitlines()]


@pytest.fixture
def repo(project: Path) -> Path:
    """A repository with three examples on main; the real .gitattributes (merge=union)."""
    (project / ".gitattributes").write_bytes((REPO / ".gitattributes").read_bytes())
    git(project, "init", "-q", "-b", "main")
    commit(project, [example(1), example(2), example(3)], "start")
    return project


def install_driver(repo: Path) -> None:
    """What `make hooks` configures, with this Python in place of .venv/bin/tf."""
    makefile = (REPO / "Makefile").read_text()
    found = re.search(r"""git config merge\.union\.driver "'\$\(CURDIR\)/\$\(BIN\)/tf' (.+)"$""",
                      makefile, re.MULTILINE)
    assert found, "make hooks no longer installs the merge driver"
    git(repo, "config", "merge.union.name", "tf: id-keyed three-way merge of dataset files")
    git(repo, "config", "merge.union.driver",
        f"{shlex.quote(sys.executable)} -m tf_cli {found.group(1)}")


def branches(repo: Path, ours: list[dict], theirs: list[dict]) -> dict[str, str]:
    """Branch E (checked out at the end) and branch F from main, one commit each."""
    git(repo, "checkout", "-q", "-b", "F")
    shas = {"F": commit(repo, theirs, "F")}
    git(repo, "checkout", "-q", "-b", "E", "main")
    shas["E"] = commit(repo, ours, "E")
    return shas


def test_delete_on_one_branch_edit_on_the_other_is_a_conflict_naming_the_id(repo):
    install_driver(repo)
    branches(repo, [example(1), example(3)],
             [example(1), example(2, notes="label checked again"), example(3)])
    merged = git(repo, "merge", "--no-edit", "F", check=False)
    assert merged.returncode == 1
    assert f"{FILE}: conflict on id {ident(2)}: deleted on ours, edited on theirs" \
        in merged.stdout + merged.stderr
    assert git(repo, "ls-files", "-u", "--", FILE).stdout  # git marked it conflicted
    assert (repo / FILE).read_bytes() == b"".join([
        canonical_bytes(example(1)) + b"\n",
        f"<<<<<<< ours (id {ident(2)}: deleted here, edited on theirs)\n".encode(),
        b"=======\n",
        canonical_bytes(example(2, notes="label checked again")) + b"\n",
        b">>>>>>> theirs\n",
        canonical_bytes(example(3)) + b"\n"])

    # Keep the deletion: the example stays removed, and the merge passes the CI check.
    write_records(repo / FILE, [example(1), example(3)])
    git(repo, "add", FILE)
    git(repo, "commit", "-q", "--no-edit")
    assert ids_in(repo) == [ident(1), ident(3)]
    assert run_tf("check-merge", cwd=repo).exit_code == 0


def test_concurrent_appends_merge_cleanly_keeping_both(repo):
    install_driver(repo)
    start = [example(1), example(2), example(3)]
    branches(repo, start + [example(4), example(5)], start + [example(6)])
    merged = git(repo, "merge", "--no-edit", "F", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert ids_in(repo) == [ident(i) for i in (1, 2, 3, 4, 5, 6)]


def test_driver_merge_keeps_a_deletion_next_to_an_edit_and_check_merge_passes(repo):
    install_driver(repo)
    branches(repo, [example(1), example(3)],
             [example(1), example(2), example(3, notes="edited on F")])
    assert git(repo, "merge", "--no-edit", "F", check=False).returncode == 0
    assert (repo / FILE).read_bytes() == (canonical_bytes(example(1)) + b"\n"
                                          + canonical_bytes(example(3, "edited on F")) + b"\n")
    result = run_tf("check-merge", cwd=repo)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_union_merge_brings_a_deletion_back_and_check_merge_fails(repo):
    shas = branches(repo, [example(1, notes="E"), example(3)],
                    [example(1, notes="F"), example(2, notes="edited on F"), example(3)])
    assert git(repo, "merge", "--no-edit", "F", check=False).returncode == 0  # built-in union
    assert ident(2) in ids_in(repo)  # the deleted example is back
    result = run_tf("check-merge", cwd=repo)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{FILE}: id {ident(2)} was deleted in {shas['E']} and came back in this merge: "
        "remove the line again, or re-add it in its own commit if it should stay",
        f"{FILE}: id {ident(1)} appears 2 times in this merge: keep one version"]
    assert run_tf("check-merge", "HEAD^1", cwd=repo).exit_code == 0  # not a merge


def test_check_merge_in_a_shallow_clone_asks_for_the_whole_history(repo, tmp_path):
    branches(repo, [example(1), example(3)], [example(1), example(2, "x"), example(3)])
    git(repo, "merge", "--no-edit", "F")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    result = run_tf("check-merge", cwd=shallow)
    assert result.exit_code == 2
    assert "fetch-depth: 0" in result.stderr


def test_driver_command_rewrites_ours_and_reports_each_conflict(tmp_path):
    files = {}
    for name, records in (("base", [example(1), example(2)]),
                          ("ours", [example(1, "ours")]),
                          ("theirs", [example(1, "theirs"), example(2, "theirs")])):
        files[name] = tmp_path / name
        write_records(files[name], records)
    result = run_tf("merge-driver", str(files["base"]), str(files["ours"]),
                    str(files["theirs"]), FILE, "--marker-size", "9", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{FILE}: conflict on id {ident(1)}: edited differently on ours and theirs; the file "
        "has conflict markers: keep one side (or neither), then `git add` it",
        f"{FILE}: conflict on id {ident(2)}: deleted on ours, edited on theirs; the file has "
        "conflict markers: keep one side (or neither), then `git add` it"]
    assert files["ours"].read_bytes().startswith(b"<<<<<<<<< ours (id ")


# --- the three-way merge function ---------------------------------------------------

def lines(*records: dict | bytes) -> list[bytes]:
    return [r if isinstance(r, bytes) else canonical_bytes(r) for r in records]


def out(*records: dict | bytes) -> list[bytes]:
    return [line + b"\n" for line in lines(*records)]


def test_the_same_edit_on_both_sides_is_taken_once():
    result = merge(lines(example(1), example(2)), lines(example(1, "fixed"), example(2)),
                   lines(example(1, "fixed"), example(2)))
    assert (result.lines, result.conflicts) == (out(example(1, "fixed"), example(2)), [])


def test_different_edits_on_both_sides_conflict_with_the_given_marker_size():
    result = merge(lines(example(1)), lines(example(1, "ours")), lines(example(1, "theirs")),
                   marker_size=9)
    assert [(c.id, c.kind) for c in result.conflicts] == [(ident(1), "edit/edit")]
    assert result.lines == [
        f"<<<<<<<<< ours (id {ident(1)}: edited differently on both sides)\n".encode(),
        *out(example(1, "ours")), b"=========\n", *out(example(1, "theirs")),
        b">>>>>>>>> theirs\n"]


def test_a_deletion_on_one_side_wins_over_no_change_on_the_other():
    base = lines(example(1), example(2), example(3))
    deleted = lines(example(1), example(3))
    assert merge(base, deleted, base).lines == out(example(1), example(3))
    assert merge(base, base, deleted).lines == out(example(1), example(3))
    assert merge(base, deleted, base).conflicts == []


def test_edited_here_deleted_there_conflicts_at_the_examples_place():
    result = merge(lines(example(1), example(2), example(3)),
                   lines(example(1), example(2, "ours"), example(3)),
                   lines(example(1), example(3)))
    assert [(c.id, c.kind) for c in result.conflicts] == [(ident(2), "edit/delete")]
    assert result.lines == [
        *out(example(1)),
        f"<<<<<<< ours (id {ident(2)}: edited here, deleted on theirs)\n".encode(),
        *out(example(2, "ours")), b"=======\n", b">>>>>>> theirs\n", *out(example(3))]


def test_the_same_id_added_on_both_sides_with_different_content_conflicts():
    result = merge(lines(example(1)), lines(example(1), example(5, "ours")),
                   lines(example(1), example(5, "theirs")))
    assert [(c.id, c.kind) for c in result.conflicts] == [(ident(5), "add/add")]
    assert b"=======\n" in result.lines


def test_new_examples_from_both_sides_are_kept_ours_first():
    result = merge(lines(example(1)), lines(example(1), example(3), example(4)),
                   lines(example(2), example(1), example(3)))
    assert (result.lines, result.conflicts) == (
        out(example(1), example(3), example(4), example(2)), [])


def test_unparseable_lines_are_kept_unless_the_other_side_deleted_them():
    broken, other = b'{"id": "01JD", "inputs": ', b"<<< a stray line"
    result = merge(lines(example(1), other), lines(example(1), broken, other),
                   lines(example(1)))
    assert (result.lines, result.conflicts) == (out(example(1), broken), [])


def test_records_come_out_canonical_and_reformatting_is_no_edit():
    spaced = b'{"id": "%s", "metadata": {"notes": "x"}}' % ident(1).encode()
    result = merge([spaced], [spaced.replace(b'"id": ', b'"id":')],
                   [spaced.replace(b'"x"', b'"y"')])
    assert result.conflicts == []
    assert result.lines == [b'{"id":"%s","metadata":{"notes":"y"}}\n' % ident(1).encode()]
