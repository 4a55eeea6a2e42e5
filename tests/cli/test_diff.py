"""tf diff over a real Git history: add, edit, remove, a changed field value, reordered
lines, and a union merge that kept two versions of one example; every format."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_PARAMS, GIT_ENV, REPO, run_tf
from tf_cli.records import write_records

SIG = "validate_intent"
FILE = f"datasets/{SIG}/examples.jsonl"


def example(i: int, explanation: str | None = None, difficulty: str = "easy") -> dict:
    return {"id": f"01JDQ7Z8K3M2N4P5Q6R7S{i:05d}",
            "inputs": {"user_intent": f"Intent {i}", "implementation": f"code {i}"},
            "outputs": {"intent_matches": True, "explanation": explanation or
                        f"Explanation number {i}, long enough for the rule to accept it."},
            "metadata": {"source": "manual", "difficulty": difficulty, "category": "api",
                         "created_at": "2026-11-20T10:00:00Z"}}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV}).stdout.strip()


def commit(repo: Path, records: list[dict], message: str) -> str:
    write_records(repo / FILE, records)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


LONG = ("The implementation keeps the session in a cookie that lives for thirty days, so "
        "users stay logged in after closing the browser, which is what they asked for.")


@pytest.fixture
def history(project: Path) -> dict[str, str]:
    (project / "params.yaml").write_bytes(FIXTURE_PARAMS.read_bytes())
    (project / ".gitattributes").write_bytes((REPO / ".gitattributes").read_bytes())
    git(project, "init", "-q", "-b", "main")
    revs = {"start": commit(project, [example(1), example(2, LONG)], "start")}
    revs["add"] = commit(project, [example(1), example(2, LONG), example(3)], "add")
    revs["edit"] = commit(project, [example(1), example(2, LONG.replace(
        "thirty days", "thirty days (a rotating refresh token)")), example(3)], "edit")
    revs["value"] = commit(project, [example(1, difficulty="hard"), example(2, LONG.replace(
        "thirty days", "thirty days (a rotating refresh token)")), example(3)], "value")
    current = [json.loads(x) for x in (project / FILE).read_text().splitlines()]
    revs["reorder"] = commit(project, current[::-1], "reorder")
    revs["remove"] = commit(project, [r for r in current[::-1] if r["id"] != example(3)["id"]],
                            "remove")
    return revs


def tf_diff(repo: Path, base: str, head: str, fmt: str = "json"):
    result = run_tf("diff", base, head, "-s", SIG, "--format", fmt, cwd=repo)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["signatures"][0] if fmt == "json" else result.stdout


def test_added_edited_changed_value_reordered_removed(project: Path, history):
    added = tf_diff(project, history["start"], history["add"])
    assert added["added"] == [example(3)["id"]] and not added["removed"] + added["modified"]
    assert added["examples"] == {"base": 2, "head": 3}
    assert added["coverage"]["difficulty"] == {"easy": [2, 3]}

    edited = tf_diff(project, history["add"], history["edit"])
    [change] = edited["modified"][0]["changes"]
    assert change["field"] == "outputs.explanation"
    assert "thirty [-days,-] {+days (a rotating refresh token),+} so" in change["word_diff"]

    value = tf_diff(project, history["edit"], history["value"])
    assert value["modified"] == [{"id": example(1)["id"], "changes": [
        {"field": "metadata.difficulty", "old": "easy", "new": "hard"}]}]
    assert value["coverage"]["difficulty"] == {"easy": [3, 2], "hard": [0, 1]}

    reordered = tf_diff(project, history["value"], history["reorder"])
    assert not (reordered["added"] or reordered["removed"] or reordered["modified"])
    assert "No example changed." in tf_diff(project, history["value"], history["reorder"],
                                            "text")

    removed = tf_diff(project, history["reorder"], history["remove"])
    assert removed["removed"] == [example(3)["id"]]


def test_text_and_markdown_formats(project: Path, history):
    text = tf_diff(project, history["start"], history["value"], "text")
    assert f"validate_intent: 2 -> 3 examples\n  + added {example(3)['id']}" in text
    assert f"  ~ modified {example(1)['id']}\n      metadata.difficulty: \"easy\" -> \"hard\"" \
        in text
    assert "  coverage difficulty: hard 0->1\n" in text  # unchanged buckets are not listed
    markdown = tf_diff(project, history["start"], history["value"], "markdown")
    assert markdown.startswith("## tf diff")
    assert "### validate_intent: 2 -> 3 examples" in markdown
    assert f"- \\+ added {example(3)['id']}" in markdown  # "- + " would nest a list


def test_a_union_merge_that_kept_two_versions_shows_a_duplicate_id(project: Path, history):
    git(project, "checkout", "-q", "-b", "feature", history["remove"])
    branch = [json.loads(x) for x in (project / FILE).read_text().splitlines()]
    branch[0]["outputs"]["explanation"] = "Edited on the feature branch, long enough to pass."
    commit(project, branch, "edit on feature")
    git(project, "checkout", "-q", "main")
    trunk = [json.loads(x) for x in (project / FILE).read_text().splitlines()]
    trunk[0]["outputs"]["explanation"] = "Edited on main at the same time, long enough too."
    commit(project, trunk, "edit on main")
    git(project, "merge", "-q", "--no-edit", "feature")  # merge=union: no conflict
    merged = tf_diff(project, history["remove"], "HEAD")
    assert merged["duplicate_ids"] == {"base": [], "head": [trunk[0]["id"]]}
    text = tf_diff(project, history["remove"], "HEAD", "text")
    assert f"! duplicate id {trunk[0]['id']} in head" in text
    assert run_tf("validate", cwd=project).exit_code == 1  # and validate says so too


def test_working_tree_and_other_files_and_check_base(project: Path, history):
    records = [json.loads(x) for x in (project / FILE).read_text().splitlines()]
    write_records(project / FILE, records + [example(9)])
    (project / "params.yaml").write_text((project / "params.yaml").read_text() + "\n")
    result = run_tf("diff", "HEAD", "--format", "json", cwd=project)
    data = json.loads(result.stdout)
    assert data["head"] == "working tree" and data["other_changes"] == ["params.yaml"]
    assert [s["added"] for s in data["signatures"] if s["signature"] == SIG] == [
        [example(9)["id"]]]
    report = run_tf("check", "--base", "HEAD", "--format", "markdown", cwd=project)
    assert "Changes since" in report.stdout and "validate_intent: +1 -0 ~0" in report.stdout
    assert f"+ added {example(9)['id']}" in report.stdout


def test_log_lists_counts_and_scores_per_commit_and_plots(project: Path, history):
    report = project / "reports" / SIG / "optimize.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"optimizer": "bootstrap_fewshot", "optimized_score": 71.5,
                                  "baseline_score": 52.0}))  # an older report's keys
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "scores")
    result = run_tf("log", "-s", SIG, "--format", "json", "--plot", "history.png",
                    cwd=project)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [r["subject"] for r in rows] == ["scores", "remove", "reorder", "value", "edit",
                                            "add", "start"]
    assert [r["examples"] for r in rows] == [2, 2, 3, 3, 3, 3, 2]
    assert all(isinstance(r["median_age_days"], float) for r in rows)  # freshness trend
    assert {r["mean_quality"] for r in rows} == {None}  # no example has a quality score
    assert rows[0]["optimized_score"] == 71.5 and rows[0]["optimizer"] == "bootstrap_fewshot"
    assert rows[1]["optimized_score"] is None and rows[0]["target"] == 50
    assert (project / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = run_tf("log", "-s", SIG, cwd=project)
    assert "71.5" in table.stdout and "bootstrap_fewshot" in table.stdout
    # piped, a row is one line, whole: no cell wrapped or cut at 80 columns.
    long_subject = "Scores after the bootstrap_fewshot run on the reviewed December examples"
    # Reports written before the scale was in the key's name read the same.
    report.write_text(json.dumps({"optimizer": "bootstrap_fewshot",
                                  "optimized_score_percent": 73.25,
                                  "baseline_score_percent": 52.0}))
    git(project, "commit", "-q", "-am", long_subject)
    row = next(line for line in run_tf("log", "-s", SIG, cwd=project).stdout.splitlines()
               if "Scores after" in line)
    assert long_subject in row and SIG in row and "73.2" in row
    text = run_tf("log", "--plot", "history.txt", cwd=project)  # run_tf fails on a traceback
    assert text.exit_code == 2 and "--plot history.txt: give a file ending in" in text.stderr


@pytest.mark.parametrize(("base", "head"), [("start", "add"), ("add", "edit"),
                                            ("edit", "value"), ("value", "reorder"),
                                            ("reorder", "remove")])
def test_every_step_reads_the_same_in_all_three_formats(project: Path, history, base, head):
    data = tf_diff(project, history[base], history[head])
    text = tf_diff(project, history[base], history[head], "text")
    markdown = tf_diff(project, history[base], history[head], "markdown")
    # in Markdown the sign is escaped: after "- " a bare "+", "-" or "~" nests a list
    for output, bullet in ((text, "  "), (markdown, "- \\")):
        for example_id in data["added"]:
            assert f"{bullet}+ added {example_id}" in output
        for example_id in data["removed"]:
            assert f"{bullet}- removed {example_id}" in output
        for item in data["modified"]:
            assert f"{bullet}~ modified {item['id']}" in output
            assert all(change["field"] in output for change in item["changes"])
        if not (data["added"] or data["removed"] or data["modified"]):
            assert "No example changed." in output


def test_lines_that_are_no_example_are_counted_not_skipped_silently(project: Path, history):
    with open(project / FILE, "ab") as out:
        out.write(b"<<<<<<< ours\n=======\n>>>>>>> theirs\n")
    result = run_tf("diff", history["remove"], cwd=project)
    assert result.exit_code == 0
    assert ("! 3 lines in head are no example (not a JSON object with an id), so not "
            "compared: tf validate names them") in result.stdout
    data = json.loads(run_tf("diff", history["remove"], "--format", "json",
                             cwd=project).stdout)
    assert data["signatures"][0]["unreadable"] == {"head": 3}
    unknown = run_tf("diff", history["start"], "-s", "nosuch", cwd=project)
    assert unknown.exit_code == 2 and 'unknown signature "nosuch"' in unknown.stderr


def test_added_examples_that_do_not_count_say_so_and_are_not_counted(project: Path, history):
    """An added example waiting for review, or rejected, is marked, and the counts are what
    tf coverage counts, pending apart."""
    synthetic = project / "datasets/validate_intent/synthetic.jsonl"
    pending = {**example(7), "metadata": {**example(7)["metadata"], "source": "synthetic",
                                           "review": {"status": "pending"}}}
    rejected = {**example(8), "metadata": {**example(8)["metadata"], "source": "synthetic",
                                            "review": {"status": "rejected", "by": "r",
                                                       "at": "2026-11-21T10:00:00Z",
                                                       "reason": "too easy"}}}
    write_records(synthetic, [pending, rejected])
    text = run_tf("diff", history["remove"], cwd=project)
    assert text.exit_code == 0, text
    assert "validate_intent: 2 -> 2 examples (pending review: 0 -> 1)" in text.stdout
    assert f"+ added {pending['id']} (pending review)" in text.stdout
    assert f"+ added {rejected['id']} (rejected by a reviewer)" in text.stdout
    data = json.loads(run_tf("diff", history["remove"], "-f", "json", cwd=project).stdout)
    entry = data["signatures"][0]
    assert entry["added_states"] == {pending["id"]: "pending", rejected["id"]: "rejected"}
    assert entry["examples"] == {"base": 2, "head": 2}
