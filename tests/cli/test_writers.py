"""No command loses a line: locks held for the whole read-modify-write, appends that fail
leave the file as it was, rewrites keep what they cannot parse, concurrent writers see
each other's work."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from tests.conftest import GIT_ENV, run_tf
from tests.lm_server import completeness_example
from tf_cli.records import write_records

SIG = "validate_completeness"
EXAMPLES = f"datasets/{SIG}/examples.jsonl"
CAPTURED = f"datasets/{SIG}/captured.jsonl"


def example(n: int, **metadata) -> dict:
    made = completeness_example(n, {"completion": ("full", "partial", "barely")[n % 3]})
    return {"inputs": made["inputs"], "outputs": made["outputs"],
            "metadata": {"source": "manual", "difficulty": ("easy", "medium", "hard")[n % 3],
                         "category": made["category"], **metadata}}


def with_id(n: int, record: dict) -> dict:
    """The record as a file holds it: with the id and created_at that tf gives it."""
    return {"id": f"01JE0000000000000000{n:06d}", **record,
            "metadata": {"created_at": "2026-11-20T10:00:00Z", **record["metadata"]}}


def ids(path: Path) -> list[str]:
    return [json.loads(x)["id"] for x in path.read_bytes().splitlines()] if path.exists() \
        else []


def tf_process(project: Path, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tf_cli", *args], cwd=project,
                            env={**os.environ, **GIT_ENV, "NO_COLOR": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process ended, or a descriptor closed while looking
        return False


def test_import_while_fmt_rewrites_the_same_file_loses_nothing(project: Path):
    # A large file that is not canonical, so fmt spends a while reading and rewriting it.
    path = project / EXAMPLES
    path.parent.mkdir(parents=True)
    base = with_id(0, example(0))
    with open(path, "wb") as out:
        for n in range(20_000):
            record = {**base, "id": f"01JF{n:022d}",
                      "inputs": {**base["inputs"], "implementation": f"def f_{n}(): pass"}}
            out.write(json.dumps(record, indent=None).encode() + b"\n")  # spaces: not canonical
    rows = project / "rows.jsonl"
    rows.write_text("".join(json.dumps(example(n)) + "\n" for n in range(1, 1001)))
    formatting = tf_process(project, "fmt")
    while not _has_open(formatting.pid, path) and formatting.poll() is None:
        time.sleep(0.005)  # until fmt is reading the file
    imported = run_tf("import", "rows.jsonl", "-s", SIG, cwd=project)
    assert formatting.wait(timeout=120) == 0, formatting.stderr.read()
    assert imported.exit_code == 0, imported.stderr
    assert "1,000 imported" in imported.stderr
    found = ids(path)
    assert len(found) == 21_000 == len(set(found))
    assert run_tf("fmt", "--check", cwd=project).exit_code == 0


def test_review_keeps_the_lines_it_cannot_parse(project: Path):
    path = project / CAPTURED
    path.parent.mkdir(parents=True)
    pending = with_id(1, example(1, source="production", review={"status": "pending"}))
    bad = (b'{"id": "a", "id": "b"}\n'
           b'{"id": "01JE0000000000000000000009", "score": NaN}\n')
    torn = b'{"id": "01JE0000000000000000000010", "inputs": {"impl'
    path.write_bytes(json.dumps(pending).encode() + b"\n" + bad + torn)
    result = run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                    env=GIT_ENV)
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes() == bad + torn  # only the approved example left, byte for byte
    approved = [json.loads(x) for x in (project / EXAMPLES).read_text().splitlines()]
    assert [r["id"] for r in approved] == [pending["id"]]
    assert approved[0]["metadata"]["review"]["status"] == "approved"


def test_approval_with_the_target_locked_elsewhere_changes_nothing(project: Path):
    pending = with_id(1, example(1, source="production", review={"status": "pending"}))
    write_records(project / CAPTURED, [pending])
    curated = with_id(2, example(2))
    write_records(project / EXAMPLES, [curated])
    before = {p: (project / p).read_bytes() for p in (CAPTURED, EXAMPLES)}
    with FileLock(project / f"{EXAMPLES}.lock"):  # another writer holds examples.jsonl
        started = time.monotonic()
        result = run_tf("review", "-s", SIG, "--approve-all", "--where", "true",
                        cwd=project, env={**GIT_ENV, "TF_LOCK_TIMEOUT": "1"})
        waited = time.monotonic() - started
    assert result.exit_code == 1 and waited < 30
    assert "examples.jsonl: another process has been writing it for 1 s" in result.stderr
    assert "nothing was changed" in result.stderr
    assert {p: (project / p).read_bytes() for p in before} == before
    retried = run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                     env=GIT_ENV)
    assert retried.exit_code == 0
    assert ids(project / EXAMPLES) == [curated["id"], pending["id"]]
    assert ids(project / CAPTURED) == []


def _file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_an_append_over_the_file_size_limit_leaves_the_file_as_it_was(project: Path):
    path = project / EXAMPLES
    write_records(path, [with_id(n, example(n)) for n in range(1, 4)])
    before = path.read_bytes()
    (project / "new.json").write_text(json.dumps([example(n) for n in range(10, 20)]))
    limited = subprocess.run(
        [sys.executable, "-m", "tf_cli", "add-example", "-s", SIG, "--from-json", "new.json"],
        cwd=project, capture_output=True, text=True,
        preexec_fn=_file_size_limit(len(before) + 700))  # room for part of one line
    assert "Traceback" not in limited.stderr
    assert limited.returncode == 1, limited.stderr
    assert "cannot append 10 examples: File too large; the file is unchanged" in \
        limited.stderr
    assert path.read_bytes() == before
    # the large-batch path (a copy renamed into place) fails the same way
    rows = project / "rows.jsonl"
    rows.write_text("".join(json.dumps(example(n)) + "\n" for n in range(20, 40)))
    limited = subprocess.run(
        [sys.executable, "-m", "tf_cli", "import", "rows.jsonl", "-s", SIG], cwd=project,
        capture_output=True, text=True, preexec_fn=_file_size_limit(len(before) + 700))
    assert "Traceback" not in limited.stderr
    assert limited.returncode == 1 and "the file is unchanged" in limited.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "examples.jsonl", "examples.jsonl.lock"]  # no temporary file left
    # and once there is room, the same command works and the file stays valid
    assert run_tf("add-example", "-s", SIG, "--from-json", "new.json",
                  cwd=project).exit_code == 0
    assert len(ids(path)) == 13
    assert run_tf("validate", cwd=project).exit_code == 0


def test_an_append_after_a_torn_last_line_is_refused_naming_it(project: Path):
    path = project / EXAMPLES
    write_records(path, [with_id(1, example(1))])
    path.write_bytes(path.read_bytes() + b'{"id": "01JE00000000000000000')
    before = path.read_bytes()
    (project / "new.json").write_text(json.dumps([example(5)]))
    result = run_tf("add-example", "-s", SIG, "--from-json", "new.json", cwd=project)
    assert result.exit_code == 1
    assert f"{EXAMPLES}:2: the last line is cut off" in result.stderr
    assert path.read_bytes() == before


def test_concurrent_imports_of_one_file_import_each_row_once(project: Path):
    rows = project / "rows.jsonl"
    rows.write_text("".join(json.dumps(example(n)) + "\n" for n in range(1, 3001)))
    runs = [tf_process(project, "import", "rows.jsonl", "-s", SIG) for _ in range(2)]
    outcomes = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert "Traceback" not in "".join(err for _, err in outcomes)
    records = [json.loads(x) for x in (project / EXAMPLES).read_text().splitlines()]
    assert len(records) == 3000
    assert len({json.dumps(r["inputs"], sort_keys=True) for r in records}) == 3000
    said = sorted(err for _, err in outcomes)
    assert any("3,000 imported" in err for err in said)
    assert any("3,000 duplicates skipped" in err for err in said)


def test_an_interrupted_approval_is_tolerated_then_finished(project: Path):
    """A crash between an approval's append and its removal leaves the example in both
    files: the approved copy counts, tf validate accepts the pair, tf review finishes it.
    The same id with other content is still a duplicate."""
    pending = with_id(1, example(1, source="synthetic", review={"status": "pending"}))
    approved = {**pending, "metadata": {**pending["metadata"], "review": {
        "status": "approved", "reviewer": "Rita", "date": "2026-11-21T10:00:00Z"}}}
    other = with_id(2, example(2, source="synthetic", review={"status": "pending"}))
    write_records(project / EXAMPLES, [approved])
    write_records(project / f"datasets/{SIG}/synthetic.jsonl", [pending, other])
    assert run_tf("validate", cwd=project).exit_code == 0
    coverage = json.loads(run_tf("coverage", "-s", SIG, "--format", "json",
                                 cwd=project).stdout)["signatures"][0]
    assert coverage["examples"] == 1

    changed = {**pending, "outputs": {**pending["outputs"], "explanation": "Changed " * 9}}
    write_records(project / f"datasets/{SIG}/synthetic.jsonl", [changed, other])
    result = run_tf("validate", cwd=project)
    assert result.exit_code == 1 and f'duplicate id "{pending["id"]}"' in result.stdout
    write_records(project / f"datasets/{SIG}/synthetic.jsonl", [pending, other])

    finished = run_tf("review", "-s", SIG, "--approve-all", "--where", f"id = '{other['id']}'",
                      cwd=project, env=GIT_ENV)
    assert finished.exit_code == 0, finished.stderr
    assert ids(project / f"datasets/{SIG}/synthetic.jsonl") == []
    assert ids(project / EXAMPLES) == [pending["id"], other["id"]]


def test_approving_over_a_different_example_with_the_same_id_changes_nothing(project: Path):
    pending = with_id(1, example(1, source="synthetic", review={"status": "pending"}))
    squatter = with_id(1, example(7))  # the same id, another example
    write_records(project / EXAMPLES, [squatter])
    write_records(project / f"datasets/{SIG}/synthetic.jsonl", [pending])
    before = [(project / p).read_bytes() for p in (EXAMPLES, f"datasets/{SIG}/synthetic.jsonl")]
    result = run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                    env=GIT_ENV)
    assert result.exit_code == 1
    assert f"already has a different example with id {pending['id']}" in result.stderr
    assert [(project / p).read_bytes() for p in (EXAMPLES, f"datasets/{SIG}/synthetic.jsonl")] \
        == before


def test_a_pending_id_on_two_lines_is_never_decided_for_both(project: Path):
    first = with_id(1, example(1, source="synthetic", review={"status": "pending"}))
    second = {**with_id(2, example(2, source="synthetic", review={"status": "pending"})),
              "id": first["id"]}  # the same id, another example
    path = project / f"datasets/{SIG}/synthetic.jsonl"
    write_records(path, [first, second])
    before = path.read_bytes()
    result = run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                    env=GIT_ENV)
    assert result.exit_code == 1
    assert f"id {first['id']} is on lines 1 and 2; nothing was changed" in result.stderr
    assert path.read_bytes() == before and not (project / EXAMPLES).exists()


def test_a_decision_on_an_example_changed_since_it_was_shown_is_not_saved(project: Path):
    """Two reviewers: B rejects the example while A looks at it; A's approval must not
    overwrite B's rejection."""
    import pexpect

    pending = with_id(1, example(1, source="synthetic", review={"status": "pending"}))
    path = project / f"datasets/{SIG}/synthetic.jsonl"
    write_records(path, [pending])
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "TERM": "dumb"}
    reviewer_a = pexpect.spawn(sys.executable, ["-m", "tf_cli", "review", "-s", SIG],
                               cwd=project, env=env, encoding="utf-8", timeout=60)
    reviewer_a.expect(r"\[q\]uit\? ")
    rejected = run_tf("review", "-s", SIG, cwd=project, env=GIT_ENV,
                      input="r\nharmful content\n")
    assert rejected.exit_code == 0, rejected.stderr
    reviewer_a.sendline("a")
    reviewer_a.expect("not saved: .*changed since it was shown")
    reviewer_a.expect(pexpect.EOF)
    [record] = [json.loads(x) for x in path.read_text().splitlines()]
    assert record["metadata"]["review"]["status"] == "rejected"
    assert record["metadata"]["review"]["reason"] == "harmful content"
    assert not (project / EXAMPLES).exists()


def test_a_byte_order_mark_does_not_pin_the_first_example(project: Path):
    path = project / f"datasets/{SIG}/synthetic.jsonl"
    records = [with_id(n, example(n, source="synthetic", review={"status": "pending"}))
               for n in (1, 2)]
    write_records(path, records)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                    env=GIT_ENV)
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes() == b""
    assert ids(project / EXAMPLES) == [r["id"] for r in records]


def test_an_example_that_breaks_a_rule_is_left_pending(project: Path):
    good = with_id(1, example(1, source="synthetic", review={"status": "pending"}))
    bad = with_id(2, example(2, source="synthetic", review={"status": "pending"}))
    bad["outputs"]["is_complete"] = not bad["outputs"]["is_complete"]  # contradicts the list
    write_records(project / f"datasets/{SIG}/synthetic.jsonl", [good, bad])
    result = run_tf("review", "-s", SIG, "--approve-all", "--where", "true", cwd=project,
                    env=GIT_ENV)
    assert result.exit_code == 0
    assert f"left pending, it breaks a check: {bad['id']} (synthetic.jsonl)" in result.stderr
    assert ids(project / EXAMPLES) == [good["id"]]
    assert run_tf("validate", str(project / EXAMPLES), cwd=project).exit_code == 0


def test_duplicate_checks_see_a_file_rewritten_in_place(project: Path):
    """Existing.catch_up (the duplicate check under a file's lock) reads only what was
    appended since its last read, unless the file was rewritten: then it reads it all,
    even when the rewritten file has the old inode (writing in place, or a file system
    that reuses inodes)."""
    from tf_cli.examples import Existing, input_key

    path = project / EXAMPLES
    old = [with_id(n, example(n)) for n in range(1, 4)]
    write_records(path, old)
    existing = Existing()
    existing.catch_up(path)
    inode = path.stat().st_ino
    newcomer = with_id(9, example(9))
    with open(path, "wb") as rewritten:  # in place: same inode, the newcomer first
        rewritten.write(b"".join(json.dumps(r).encode() + b"\n" for r in [newcomer, *old]))
    assert path.stat().st_ino == inode
    fresh = existing.catch_up(path)
    assert newcomer["id"] in fresh.ids and input_key(newcomer) in existing.inputs
    appended = with_id(10, example(10))
    with open(path, "ab") as more:  # a plain append: only the new line is read
        more.write(json.dumps(appended).encode() + b"\n")
    assert existing.catch_up(path).ids == {appended["id"]}


def test_a_dataset_path_that_is_no_regular_file_is_refused_not_followed(project: Path,
                                                                        tmp_path: Path):
    folder = project / f"datasets/{SIG}"
    folder.mkdir(parents=True)
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(b"")
    (project / "new.json").write_text(json.dumps([example(1)]))
    cases = {"a folder": lambda p: p.mkdir(), "not a regular file": os.mkfifo,
             "a symbolic link": lambda p: p.symlink_to(outside)}
    for kind, make in cases.items():
        path = folder / "examples.jsonl"
        make(path)
        for args in (["validate"], ["check"], ["status"],
                     ["add-example", "-s", SIG, "--from-json", "new.json"]):
            result = run_tf(*args, cwd=project)
            assert result.exit_code == 2, (kind, args, result)
            assert f"{EXAMPLES}: {kind}" in result.stderr, (kind, args, result.stderr)
        assert outside.read_bytes() == b""  # nothing written through the link
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()


def test_a_linked_dataset_folder_is_refused_not_followed(project: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "datasets").mkdir(exist_ok=True)
    (project / f"datasets/{SIG}").symlink_to(elsewhere)
    (project / "new.json").write_text(json.dumps([example(1)]))
    for args in (["validate"], ["check"], ["add-example", "-s", SIG, "--from-json", "new.json"]):
        result = run_tf(*args, cwd=project)
        assert result.exit_code == 2, (args, result)
        assert f"datasets/{SIG}: a symbolic link; dataset folders must be real" in \
            result.stderr
    assert list(elsewhere.iterdir()) == []
