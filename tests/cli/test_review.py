"""tf review through a pseudo-terminal, and --approve-all."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect

from tests.conftest import GIT_ENV, run_tf
from tests.lm_server import completeness_example
from tf_cli.records import write_records

SIG = "validate_completeness"
SYNTHETIC = f"datasets/{SIG}/synthetic.jsonl"
EXAMPLES = f"datasets/{SIG}/examples.jsonl"


def pending_examples(project: Path, n: int) -> list[dict]:
    records = []
    for i in range(n):
        made = completeness_example(i + 1, {"completion": ("full", "partial", "barely")[i % 3]})
        records.append({
            "id": f"01JDQ7Z8K3M2N4P5Q6R7S{i:05d}", "inputs": made["inputs"],
            "outputs": made["outputs"],
            "metadata": {"source": "synthetic", "difficulty": "medium", "category": "api",
                         "created_at": "2026-11-20T10:00:00Z",
                         "review": {"status": "pending"},
                         "provenance": {"model": "openai/test", "strategy": "edge_case"}}})
    write_records(project / SYNTHETIC, records)
    return records


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_review_session_approves_rejects_edits_and_skips(project: Path, tmp_path: Path):
    records = pending_examples(project, 4)
    editor = tmp_path / "editor.py"  # stands in for $EDITOR: rewrites the explanation
    editor.write_text("import json, sys\np = sys.argv[1]\nd = json.load(open(p))\n"
                      "d['outputs']['explanation'] = 'Edited by the reviewer.'\n"
                      "json.dump(d, open(p, 'w'))\n")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "TERM": "dumb",
           "EDITOR": f"{sys.executable} {editor}", "GIT_CONFIG_GLOBAL": str(tmp_path / "gc")}
    (tmp_path / "gc").write_text("[user]\n\tname = Rita Reviewer\n")
    child = pexpect.spawn(sys.executable, ["-m", "tf_cli", "review", "-s", SIG], cwd=project,
                          env=env, encoding="utf-8", timeout=60)
    child.expect("4 pending examples of validate_completeness; reviewer: Rita Reviewer")
    child.expect(r"\[1/4\] synthetic.jsonl")
    child.expect(r"\[s\]kip, \[q\]uit\? ")
    child.send("a")  # on a terminal a decision is one key, no Enter
    child.expect(f"approved {records[0]['id']}: moved into examples.jsonl")
    child.expect(r"\[2/4\]")
    child.expect(r"\[q\]uit\? ")
    child.send("x")
    child.expect("answer a, r, e, s or q")
    child.expect(r"\[q\]uit\? ")
    child.send("r")
    child.expect("reason: ")
    child.sendline("the label is wrong: nothing is missing")
    child.expect(f"rejected {records[1]['id']}: stays in synthetic.jsonl, marked rejected")
    child.expect(r"\[3/4\]")
    child.expect(r"\[q\]uit\? ")
    child.send("e")
    child.expect(f"saved your edit of {records[2]['id']} in synthetic.jsonl")
    child.expect("Edited by the reviewer.")
    child.expect(r"\[q\]uit\? ")
    child.sendline("a")  # an Enter pressed out of habit is passed over
    child.expect(r"\[4/4\]")
    child.expect(r"\[q\]uit\? ")
    child.send("s")
    child.expect(f"skipped {records[3]['id']}: still pending")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    approved = lines(project / EXAMPLES)
    assert [r["id"] for r in approved] == [records[0]["id"], records[2]["id"]]
    assert approved[0]["metadata"]["review"]["status"] == "approved"
    assert approved[0]["metadata"]["review"]["reviewer"] == "Rita Reviewer"
    assert approved[1]["outputs"]["explanation"] == "Edited by the reviewer."
    left = {r["id"]: r["metadata"]["review"] for r in lines(project / SYNTHETIC)}
    assert left[records[1]["id"]]["status"] == "rejected"
    assert left[records[1]["id"]]["reason"] == "the label is wrong: nothing is missing"
    assert left[records[3]["id"]] == {"status": "pending"}
    assert run_tf("validate", cwd=project).exit_code == 0
    assert run_tf("fmt", "--check", cwd=project).exit_code == 0


def test_approve_all_with_where(project: Path):
    records = pending_examples(project, 6)
    result = run_tf("review", "-s", SIG, "--approve-all", "--where",
                    "outputs.is_complete", cwd=project)
    assert result.exit_code == 0
    full = [r["id"] for r in records if r["outputs"]["is_complete"]]
    assert [r["id"] for r in lines(project / EXAMPLES)] == full
    assert len(lines(project / SYNTHETIC)) == 6 - len(full)
    missing_where = run_tf("review", "-s", SIG, "--approve-all", cwd=project)
    assert missing_where.exit_code == 2 and "--approve-all needs --where" in missing_where.stderr
    # One expression, as in params.yaml: a second statement is refused before anything runs.
    two = run_tf("review", "-s", SIG, "--approve-all", "--where", "true; DROP TABLE x",
                 cwd=project)
    assert two.exit_code == 2 and "--where: not one SQL expression" in two.stderr
    assert len(lines(project / SYNTHETIC)) == 6 - len(full)


def test_each_decision_is_confirmed_in_one_line(project: Path):
    records = pending_examples(project, 3)
    result = run_tf("review", "-s", SIG, cwd=project, env=GIT_ENV, input="a\nr\ntoo easy\ns\n")
    assert result.exit_code == 0, result.stderr
    assert f"approved {records[0]['id']}: moved into examples.jsonl\n" in result.stdout
    assert f"rejected {records[1]['id']}: stays in synthetic.jsonl, marked rejected " \
        "(too easy)\n" in result.stdout
    assert f"skipped {records[2]['id']}: still pending\n" in result.stdout


def write_editor(tmp_path: Path, *contents: dict | str) -> str:
    """An $EDITOR that writes contents[n] on its n-th call, after keeping a copy of the
    file it was given as seen-<n>.json."""
    for n, content in enumerate(contents):
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        (tmp_path / f"content-{n}.json").write_text(text)
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys\n"
        f"here = pathlib.Path({str(tmp_path)!r})\n"
        "n = len(list(here.glob('seen-*.json')))\n"
        "target = pathlib.Path(sys.argv[1])\n"
        "(here / f'seen-{n}.json').write_bytes(target.read_bytes())\n"
        "target.write_bytes((here / f'content-{n}.json').read_bytes())\n")
    return f"{sys.executable} {script}"


def test_an_edit_that_breaks_a_check_is_kept_and_reopened(project: Path, tmp_path: Path):
    [record] = pending_examples(project, 1)
    broken = json.loads(json.dumps(record))
    broken["outputs"]["is_complete"] = not broken["outputs"]["is_complete"]  # breaks a rule
    broken["outputs"]["explanation"] = "My careful rewrite."
    fixed = json.loads(json.dumps(record))
    fixed["outputs"]["explanation"] = "My careful rewrite."
    editor = write_editor(tmp_path, broken, "{ not json", fixed)
    result = run_tf("review", "-s", SIG, cwd=project, env={**GIT_ENV, "EDITOR": editor},
                    input="e\ne\ne\na\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "not saved, the edit breaks these checks (e reopens your edit):" in out
    assert "rule complete_iff_nothing_missing" in out
    assert "your last edit is not saved, it breaks a check: e reopens it" in out
    # The second and third openings show the reviewer's own text, under the problems.
    second = (tmp_path / "seen-1.json").read_text()
    assert second.startswith("// not saved: this edit breaks these checks")
    assert "rule complete_iff_nothing_missing" in second
    assert json.loads("\n".join(x for x in second.splitlines() if not x.startswith("//"))) \
        == broken
    third = (tmp_path / "seen-2.json").read_text()
    assert "invalid JSON at line 1" in third and third.endswith("{ not json")
    assert f"saved your edit of {record['id']} in synthetic.jsonl" in out
    [approved] = lines(project / EXAMPLES)
    assert approved["outputs"]["explanation"] == "My careful rewrite."


def test_where_selects_the_examples_the_session_shows(project: Path):
    records = pending_examples(project, 6)
    full = [r["id"] for r in records if r["outputs"]["is_complete"]]
    result = run_tf("review", "-s", SIG, "--where", "outputs.is_complete", cwd=project,
                    env=GIT_ENV, input="a\n" * len(full))
    assert result.exit_code == 0, result.stderr
    assert f"{len(full)} pending examples of {SIG} matching --where outputs.is_complete" in \
        result.stdout
    assert [r["id"] for r in lines(project / EXAMPLES)] == full
    bad = run_tf("review", "-s", SIG, "--where", "true; DROP TABLE x", cwd=project)
    assert bad.exit_code == 2 and "--where: not one SQL expression" in bad.stderr


def test_the_session_summary_says_how_many_are_still_pending(project: Path):
    pending_examples(project, 3)
    result = run_tf("review", "-s", SIG, cwd=project, input="a\ns\nq\n", env=GIT_ENV)
    assert result.exit_code == 0, result
    assert "1 approved, 0 rejected, 0 edited, 1 skipped; 2 examples still pending" \
        in result.stderr, result.stderr
