"""tf add-example: the interactive session in a real pseudo-terminal, --from-json, --commit,
and concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pexpect
import pytest

from tests.conftest import FIXTURE_PARAMS, run_tf, run_tf_process

COMPLETENESS = "datasets/validate_completeness/examples.jsonl"
INTENT = "datasets/validate_intent/examples.jsonl"


@pytest.fixture
def repo_project(project: Path) -> Path:
    shutil_copy(FIXTURE_PARAMS, project / "params.yaml")
    return project


def shutil_copy(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes())


def spawn(project: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    # Ctrl-C must reach tf's own handler even when pytest itself was started in the
    # background, where the shell sets SIGINT to be ignored and children inherit that.
    return pexpect.spawn(sys.executable, ["-m", "tf_cli", "add-example", *args], cwd=project,
                         env=env, encoding="utf-8", timeout=60,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_interactive_session_asks_checks_and_saves(repo_project: Path):
    child = spawn(repo_project, "--signature", "validate_completeness")
    child.expect("Check an implementation against a list of requirements")
    child.expect("0 examples; target 50")
    child.expect("inputs.implementation")
    child.expect("e.g. def reset_password")  # the schema's example as help
    child.expect("> ")
    child.sendline('"""')
    child.sendline("def reset(email):")
    child.sendline("    send_mail(email, link())")
    child.sendline('"""')
    child.expect(r"inputs.requirements\[0\] > ")
    child.sendline("Send a reset link")
    child.expect(r"\[1\] > ")
    child.sendline("Links expire after one hour")
    child.expect(r"\[2\] > ")
    child.sendline("")
    child.expect(r"outputs.is_complete.*\[y/n\] > ")
    child.sendline("perhaps")
    child.expect("answer y or n")
    child.sendline("n")
    child.expect(r"items of inputs.requirements \(rule missing_are_listed_requirements\)")
    child.expect(r"1\) Send a reset link\s+2\) Links expire after one hour")
    child.expect(r"missing_requirements\[0\] > ")
    child.sendline("Links expire after 1 hour")  # not copied exactly: the rule objects at once
    child.expect(r"not accepted: not in inputs.requirements: choose 1-2. Try again.")
    child.expect(r"missing_requirements\[0\] > ")
    child.sendline("2")
    child.expect(r"\[1\] > ")
    child.sendline("")
    child.expect("outputs.explanation")
    child.expect("> ")
    child.sendline("The link never expires: no expiry is stored or checked.")
    child.expect(r"metadata.difficulty.*1\) easy  2\) medium  3\) hard\r?\n> ")
    child.sendline("4")  # a wrong answer is asked again, with the reason
    child.expect("choose 1-3")
    child.sendline("2")
    child.expect("metadata.category")
    child.expect("> ")
    child.sendline("Auth!")
    child.expect("not accepted: \"Auth!\" is not snake_case")
    child.sendline("authentication")
    child.expect(r"metadata.notes \(optional")
    child.expect("> ")
    child.sendline("")
    child.expect(r"metadata.tags\[0\] > ")
    child.sendline("")
    child.expect(r"Save this example\? \[y/n\] ")
    child.sendline("y")
    child.expect(r"Saved (\w{26}): 1 examples \(was 0\)")
    saved_id = child.match.group(1)
    child.expect("completion = partial: 0 -> 1")
    child.expect(r"Add another example\? \[y/n\] ")
    child.sendline("n")
    child.expect(f"saved 1 example to {COMPLETENESS}: {saved_id}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    [record] = lines(repo_project / COMPLETENESS)
    assert record["id"] == saved_id
    assert record["inputs"]["implementation"] == "def reset(email):\n    send_mail(email, link())"
    assert record["outputs"]["missing_requirements"] == ["Links expire after one hour"]
    assert record["metadata"]["source"] == "manual" and record["metadata"]["created_at"]
    assert "notes" not in record["metadata"]
    assert run_tf("validate", cwd=repo_project).exit_code == 0
    assert run_tf("fmt", "--check", cwd=repo_project).exit_code == 0


@pytest.mark.parametrize("stop", ["ctrl-c", "eof"])
def test_stopping_at_any_question_leaves_the_dataset_untouched(repo_project: Path, stop):
    path = repo_project / INTENT
    run_tf("add-example", "-s", "validate_intent", "--from-json", "-", cwd=repo_project,
           input=json.dumps(_intent(1)))
    before = path.read_bytes()
    child = spawn(repo_project, "--signature", "validate_intent")
    child.expect("inputs.user_intent")
    child.expect("> ")
    child.sendline("Users stay logged in")
    child.expect("inputs.implementation")
    child.expect("> ")
    if stop == "ctrl-c":
        child.sendintr()
    else:
        child.sendeof()
    child.expect("nothing was written")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == (130 if stop == "ctrl-c" else 1)
    assert path.read_bytes() == before


def test_ctrl_c_in_the_second_example_says_what_was_saved(repo_project: Path):
    child = spawn(repo_project, "--signature", "validate_intent")
    for answer in ("Users stay logged in", "session cookie lasts 30 days", "y",
                   "The cookie outlives a browser restart, as the user asked.", "1", "api",
                   "", ""):
        child.expect("> ")
        child.sendline(answer)
    child.expect(r"Save this example\? \[y/n\] ")
    child.sendline("y")
    child.expect(r"Saved (\w{26})")
    saved_id = child.match.group(1)
    child.expect(r"Add another example\? \[y/n\] ")
    child.sendline("y")
    child.expect("inputs.user_intent")
    child.expect("> ")
    child.sendline("Second intent")
    child.expect("inputs.implementation")
    child.expect("> ")
    child.sendintr()
    child.expect(f"saved 1 example to {INTENT}: {saved_id}")
    child.expect("interrupted: the example being entered was not saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "nothing was written" not in child.before
    assert [r["id"] for r in lines(repo_project / INTENT)] == [saved_id]


# The answers to validate_intent's questions, one per line, as a pipe gives them.
INTENT_ANSWERS = ["Users stay logged in", "session cookie lasts 30 days", "y",
                  "The cookie outlives a browser restart, as the user asked.", "1", "api", "",
                  ""]


def test_end_of_input_in_the_second_example_says_what_was_saved(project: Path):
    answers = [*INTENT_ANSWERS, "y", "y", "Second intent"]
    result = run_tf("add-example", "-s", "validate_intent", cwd=project,
                    input="\n".join(answers) + "\n")
    assert result.exit_code == 1
    [record] = lines(project / INTENT)
    assert result.stdout.endswith(f"added {record['id']}\n")
    assert f"saved 1 example to {INTENT}: {record['id']}" in result.stderr
    assert "input ended: the example being entered was not saved" in result.stderr
    assert "nothing was written" not in result.stderr


def test_the_end_message_names_examples_not_saved(project: Path):
    answers = [*INTENT_ANSWERS, "n", "y", *INTENT_ANSWERS, "y", "n"]
    result = run_tf("add-example", "-s", "validate_intent", cwd=project,
                    input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    [record] = lines(project / INTENT)
    assert f"saved 1 example to {INTENT}: {record['id']}" in result.stderr
    assert "1 example not saved (you answered no)" in result.stderr


def test_a_rule_is_checked_as_soon_as_its_fields_are_answered(project: Path):
    """validate_intent's explanation rule (at least 40 characters) objects right after the
    explanation, before metadata is asked, and only the explanation is asked again."""
    answers = ["Users stay logged in", "session cookie lasts 30 days", "y", "Too short.",
               *INTENT_ANSWERS[3:], "y", "n"]
    result = run_tf("add-example", "-s", "validate_intent", cwd=project,
                    input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    rule = out.index("rule explanation_not_a_restatement")
    assert rule < out.index("[metadata]")
    assert out.count("inputs.user_intent") == 1 and out.count("outputs.intent_matches") == 1
    assert out.count("\noutputs.explanation\n") == 2
    assert "The example breaks these checks" not in out
    [record] = lines(project / INTENT)
    assert record["outputs"]["explanation"] == INTENT_ANSWERS[3]


def test_a_rule_over_two_fields_lets_the_contributor_pick_which_to_change(project: Path):
    """is_complete = yes with a missing requirement breaks complete_iff_nothing_missing as
    soon as both are answered; the contributor changes is_complete, not the lists."""
    answers = ["def reset(): pass", "Send a reset link", "Links expire after one hour", "",
               "y", "2", "", "2", "n",
               "Nothing checks the expiry.", "2", "authentication", "", "", "y", "n"]
    result = run_tf("add-example", "-s", "validate_completeness", cwd=project,
                    input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.index("rule complete_iff_nothing_missing") < out.index("outputs.explanation")
    assert "Change which answer? 1) outputs.missing_requirements  2) outputs.is_complete" in out
    assert out.count("inputs.requirements[0] >") == 1
    assert out.count("outputs.missing_requirements[0] >") == 1
    [record] = lines(project / COMPLETENESS)
    assert record["outputs"]["is_complete"] is False
    assert record["outputs"]["missing_requirements"] == ["Links expire after one hour"]


def test_a_subset_rule_offers_the_allowed_items(project: Path):
    answers = ["def reset(): pass", "Send a reset link", "Links expire after one hour", "",
               "n", "3", "Links expire after 1 hour", "  links EXPIRE after one hour ", "",
               "Nothing checks the expiry.", "2", "authentication", "", "", "y", "n"]
    result = run_tf("add-example", "-s", "validate_completeness", cwd=project,
                    input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "items of inputs.requirements (rule missing_are_listed_requirements)" in out
    assert "    1) Send a reset link\n    2) Links expire after one hour\n" in out
    assert "not accepted: choose 1-2. Try again." in out
    assert "not accepted: not in inputs.requirements: choose 1-2. Try again." in out
    [record] = lines(project / COMPLETENESS)
    assert record["outputs"]["missing_requirements"] == ["Links expire after one hour"]


def test_a_broken_rule_on_one_item_asks_only_that_item_again(project: Path):
    answers = ["Let users reset a password by email", "Send a reset link",
               "send a RESET link", "Expire links after one hour", "", "", "2", "security",
               "", "", "y", "n"]
    result = run_tf("add-example", "-s", "extract_requirements", cwd=project,
                    input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "rule requirements_distinct: repeats item 0" in out
    assert 'now send a RESET link; an empty line drops it\noutputs.requirements[1] > ' in out
    [record] = lines(project / "datasets/extract_requirements/examples.jsonl")
    assert record["outputs"]["requirements"] == ["Send a reset link",
                                                 "Expire links after one hour"]


def test_a_choice_out_of_range_and_a_pattern_are_explained_in_words(project: Path):
    answers = [*INTENT_ANSWERS[:4], "4", "medium", "Auth!", "security", "", "Bad Tag",
               "edge_case", "", "y", "n"]
    result = run_tf("add-example", "-s", "validate_intent", cwd=project,
                    input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "choose 1-3: 1) easy  2) medium  3) hard" in out
    assert '"Auth!" is not snake_case (lowercase letters, digits and _, starting with a ' \
        "letter), like authentication" in out
    assert '"Bad Tag" is not snake_case' in out
    assert "is not one of" not in out and "^[a-z]" not in out
    [record] = lines(project / INTENT)
    assert record["metadata"]["difficulty"] == "medium"
    assert record["metadata"]["tags"] == ["edge_case"]


def _intent(i: int, **metadata) -> dict:
    return {"inputs": {"user_intent": f"Intent {i}", "implementation": f"impl {i}"},
            "outputs": {"intent_matches": bool(i % 2),
                        "explanation": f"Explanation {i}, long enough for the rule to accept."},
            "metadata": {"difficulty": "easy", "category": "api", **metadata}}


def test_from_json_accepts_object_array_and_jsonl_and_assigns_ids(project: Path):
    one = run_tf("add-example", "-s", "validate_intent", "--from-json", "-", cwd=project,
                 input=json.dumps(_intent(1)))
    assert one.exit_code == 0
    (project / "two.json").write_text(json.dumps([_intent(2), _intent(3)]))
    two = run_tf("add-example", "-s", "validate_intent", "--from-json", "two.json", cwd=project)
    assert two.exit_code == 0
    jsonl = "\n".join(json.dumps(_intent(i)) for i in (4, 5)) + "\n"
    three = run_tf("add-example", "-s", "validate_intent", "--from-json", "-", cwd=project,
                   input=jsonl)
    assert three.exit_code == 0
    records = lines(project / INTENT)
    assert [r["inputs"]["user_intent"] for r in records] == [f"Intent {i}" for i in range(1, 6)]
    ids = [r["id"] for r in records]
    assert len(set(ids)) == 5 and ids == sorted(ids)  # ULIDs: time-ordered
    assert one.stdout == f"added {ids[0]}\n"
    assert all(r["metadata"]["source"] == "manual" for r in records)
    assert run_tf("validate", cwd=project).exit_code == 0
    assert run_tf("fmt", "--check", cwd=project).exit_code == 0


def test_from_json_adds_nothing_when_any_example_is_invalid(project: Path):
    bad = _intent(2)
    bad["outputs"]["explanation"] = "too short"
    taken = {**_intent(3), "id": "01JDQ7Z8K3M2N4P5Q6R7S8T901"}
    run_tf("add-example", "-s", "validate_intent", "--from-json", "-", cwd=project,
           input=json.dumps(taken))
    result = run_tf("add-example", "-s", "validate_intent", "--from-json", "-", cwd=project,
                    input=json.dumps([_intent(1), bad, taken]))
    assert result.exit_code == 1
    assert "stdin example 2: $.outputs.explanation: rule explanation_not_a_restatement" in \
        result.stdout
    assert 'stdin example 3: $.id: id "01JDQ7Z8K3M2N4P5Q6R7S8T901" is already used' in \
        result.stdout
    assert len(lines(project / INTENT)) == 1
    garbage = run_tf("add-example", "-s", "validate_intent", "--from-json", "-", cwd=project,
                     input="{not json")
    assert garbage.exit_code == 2 and "stdin:1: invalid JSON" in garbage.stderr


def test_dry_run_checks_examples_without_ids_against_the_dataset_and_writes_nothing(
        project: Path):
    """The contributor's loop: write examples without ids, check them, then add them."""
    run_tf("add-example", "-s", "validate_intent", "--from-json", "-", cwd=project,
           input=json.dumps(_intent(1)))
    before = (project / INTENT).read_bytes()
    (project / "new.jsonl").write_text(json.dumps(_intent(2)) + "\n" + json.dumps(_intent(3)))
    good = run_tf("add-example", "-s", "validate_intent", "--from-json", "new.jsonl",
                  "--dry-run", cwd=project)
    assert good.exit_code == 0, good
    assert "2 examples would be added (dry run: nothing written)" in good.stderr
    assert good.stdout == ""
    taken = json.loads((project / INTENT).read_text())["id"]
    (project / "again.json").write_text(json.dumps({**_intent(4), "id": taken}))
    again = run_tf("add-example", "-s", "validate_intent", "--from-json", "again.json",
                   "--dry-run", cwd=project)
    assert again.exit_code == 1 and f'id "{taken}" is already used' in again.stdout
    assert (project / INTENT).read_bytes() == before
    alone = run_tf("add-example", "-s", "validate_intent", "--dry-run", cwd=project)
    assert alone.exit_code == 2 and "use it with --from-json" in alone.stderr


def test_commit_makes_a_commit_naming_the_signature_and_ids(project: Path):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit",
                    "-q", "--allow-empty", "-m", "start"], cwd=project, check=True)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    result = run_tf("add-example", "-s", "validate_intent", "--from-json", "-", "--commit",
                    cwd=project, input=json.dumps([_intent(1), _intent(2)]), env=env)
    assert result.exit_code == 0
    ids = [r["id"] for r in lines(project / INTENT)]
    message = subprocess.run(["git", "log", "-1", "--format=%B"], cwd=project, check=True,
                             capture_output=True, text=True).stdout
    assert message.startswith("Add 2 examples to validate_intent")
    assert all(f"id: {i}" in message for i in ids)
    changed = subprocess.run(["git", "show", "--name-only", "--format="], cwd=project,
                             capture_output=True, text=True).stdout.split()
    assert changed == [INTENT]


def test_ten_concurrent_writers_add_exactly_ten_valid_lines(project: Path):
    def add(i: int):  # ten processes: the file lock is between processes
        return run_tf_process("add-example", "-s", "validate_intent", "--from-json", "-",
                      cwd=project, input=json.dumps(_intent(i)))

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(add, range(10)))
    assert all(r.exit_code == 0 for r in results), [r.stderr for r in results]
    records = lines(project / INTENT)
    assert sorted(r["inputs"]["user_intent"] for r in records) == sorted(
        f"Intent {i}" for i in range(10))
    assert run_tf("validate", cwd=project).exit_code == 0


def test_a_backtracking_pattern_in_the_schema_does_not_hang_the_session(project: Path):
    """The schema is in git: a pattern that backtracks without end in Python's `re`, with
    an example that makes it do so, must not hang the hint that shows a fitting example."""
    common = project / "schemas" / "common.schema.json"
    text = common.read_text().replace('"pattern": "^[a-z][a-z0-9_]*$"',
                                      '"pattern": "^(a+)+$"', 1)
    schema = json.loads(text)
    category = schema["$defs"]["metadata"]["properties"]["category"]
    category["examples"] = ["a" * 40 + "!", "aaaa"]
    common.write_text(json.dumps(schema))
    answers = [*INTENT_ANSWERS[:4], "2", "medium", "Auth!", "aaaa", "", "", "", "y", "n"]
    result = run_tf("add-example", "-s", "validate_intent", cwd=project, timeout=30,
                    input="\n".join(answers) + "\n")
    assert '"Auth!" does not have the form this field needs' in result.stdout, result
    assert "like aaaa " in result.stdout  # the example that fits, found without backtracking
