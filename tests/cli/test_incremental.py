"""tf validate --incremental and tf fmt --check --incremental (the pre-commit hooks): after a
clean check, only the part of a file that changed is checked again, with the same problems,
lines and duplicate-id findings a full check gives; a change to the schemas, to tf or to
--max-line-bytes, a damaged record or no git repository means a full check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.cli.test_validate_parallel import canonical, example
from tests.conftest import GIT_ENV, run_tf

FILE = "datasets/validate_completeness/examples.jsonl"
LINES = 6_000  # about 5 MB: several blocks of 1 MiB


@pytest.fixture
def repo(project: Path) -> Path:
    (project / FILE).parent.mkdir(parents=True)
    (project / FILE).write_bytes(b"".join(canonical(example(n)) for n in range(1, LINES + 1)))
    subprocess.run(["git", "init", "-q"], cwd=project, check=True, env=GIT_ENV)
    return project


def validate(project: Path, *extra: str) -> dict:
    result = run_tf("validate", "--incremental", "--format", "json", FILE, *extra, cwd=project)
    assert result.exit_code in (0, 1), result
    return json.loads(result.stdout)


def edit_line(project: Path, number: int, change) -> None:
    lines = (project / FILE).read_bytes().splitlines(keepends=True)
    lines[number - 1] = change(lines[number - 1])
    (project / FILE).write_bytes(b"".join(lines))


def with_outputs(**outputs):
    def change(line: bytes) -> bytes:
        record = orjson.loads(line)
        record["outputs"].update(outputs)
        return canonical(record)
    return change


def test_only_the_changed_part_is_checked_and_problems_keep_their_lines(repo: Path):
    first = validate(repo)
    assert first["ok"] and first["unchanged_lines"] == 0  # nothing recorded yet
    again = validate(repo)
    assert again["ok"] and again["unchanged_lines"] == LINES and again["examples"] == LINES

    edit_line(repo, 3_001, with_outputs(is_complete="yes"))  # a schema problem, mid-file
    edited = validate(repo)
    assert [(p["line"], p["pointer"]) for p in edited["problems"]] == \
        [(3_001, "$.outputs.is_complete")]
    assert LINES - 2_000 < edited["unchanged_lines"] < LINES
    assert edited["examples"] == LINES

    # the same answer as a full check, and nothing recorded while the file has a problem
    full = run_tf("validate", "--format", "json", FILE, cwd=repo)
    assert json.loads(full.stdout)["problems"] == edited["problems"]
    edit_line(repo, 3_001, lambda _: canonical(example(3_001)))
    assert validate(repo)["ok"]
    assert validate(repo)["unchanged_lines"] == LINES


def test_a_duplicate_id_is_found_against_the_lines_not_checked_again(repo: Path):
    validate(repo)
    lines = (repo / FILE).read_bytes().splitlines(keepends=True)
    with open(repo / FILE, "ab") as out:  # an appended copy of line 10: a new line, an old id
        out.write(lines[9])
    found = validate(repo)
    assert found["unchanged_lines"] == LINES
    assert [(p["line"], p["pointer"]) for p in found["problems"]] == [(LINES + 1, "$.id")]
    assert f"first used at {FILE}:10" in found["problems"][0]["message"]


def test_a_schema_change_or_a_damaged_record_means_a_full_check(repo: Path):
    validate(repo)
    assert validate(repo)["unchanged_lines"] == LINES
    schema = repo / "schemas" / "validate_completeness.schema.json"
    document = json.loads(schema.read_text())
    document["properties"]["outputs"]["properties"]["explanation"]["maxLength"] = 20
    schema.write_text(json.dumps(document))
    stricter = validate(repo)
    assert stricter["unchanged_lines"] == 0
    assert len(stricter["problems"]) == LINES  # every old line breaks the new schema

    schema.write_text(json.dumps({**document, "properties": {
        **document["properties"], "outputs": json.loads(
            (Path(__file__).parents[2] / "schemas" / "validate_completeness.schema.json")
            .read_text())["properties"]["outputs"]}}))
    assert validate(repo)["ok"]
    assert validate(repo)["unchanged_lines"] == LINES
    assert validate(repo, "--max-line-bytes", "100000")["unchanged_lines"] == 0

    records = list((repo / ".git" / "tf" / "checked").iterdir())
    for broken in ({"blocks": [["x", 1, 2, "00"]]}, {"ids": [5]}, {"size": 1},
                   {"blocks": [[0, 10 ** 12, 1, "00"]]}):
        for record in records:  # under the right fingerprint, but not what tf wrote
            record.write_bytes(orjson.dumps({**orjson.loads(record.read_bytes()), **broken}))
        damaged = validate(repo)
        assert damaged["ok"] and damaged["unchanged_lines"] == 0, broken
    for record in records:
        record.write_bytes(b'{"valid": "damaged')
    damaged = validate(repo)
    assert damaged["ok"] and damaged["unchanged_lines"] == 0


def test_outside_a_git_repository_every_line_is_checked(project: Path):
    (project / FILE).parent.mkdir(parents=True)
    (project / FILE).write_bytes(b"".join(canonical(example(n)) for n in range(1, 100)))
    for _ in range(2):
        result = validate(project)
        assert result["ok"] and result["unchanged_lines"] == 0
    assert not (project / ".git").exists()


def test_fmt_check_reads_only_what_changed_and_reports_it(repo: Path):
    validate(repo)
    check = run_tf("fmt", "--check", "--incremental", FILE, cwd=repo)
    assert check.exit_code == 0, check
    edit_line(repo, 4_500, lambda line: json.dumps(orjson.loads(line)).encode() + b"\n")
    check = run_tf("fmt", "--check", "--incremental", FILE, cwd=repo)
    assert check.exit_code == 1 and f"would reformat {FILE}" in check.stdout
    edit_line(repo, 4_500, lambda line: b'{"id": \n')
    check = run_tf("fmt", "--check", "--incremental", FILE, cwd=repo)
    assert check.exit_code == 1 and f"{FILE}:4500:" in check.stdout, check
    refused = run_tf("fmt", "--incremental", FILE, cwd=repo)
    assert refused.exit_code == 2 and "only goes with --check" in refused.stderr


def test_check_incremental_uses_the_same_records(repo: Path):
    """The CI gate (tf check --incremental, with records restored from the default branch's
    runs) skips what a clean check recorded, and still fails on a changed line."""
    def check() -> dict:
        result = run_tf("check", "--incremental", "--format", "json", cwd=repo)
        return {"exit": result.exit_code, **json.loads(result.stdout)["validation"]}

    assert check()["unchanged_lines"] == 0
    assert check()["unchanged_lines"] == LINES
    edit_line(repo, 10, with_outputs(is_complete="yes"))
    broken = check()
    assert broken["exit"] == 1 and [p["line"] for p in broken["problems"]] == [10]
