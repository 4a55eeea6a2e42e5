"""tf import: formats, mapping, partial import and rejects, and malformed files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_tf

COMPLETENESS = "datasets/validate_completeness/examples.jsonl"
MAP = ["--map", "code=inputs.implementation", "--map", "reqs=inputs.requirements",
       "--map", "complete=outputs.is_complete", "--map", "missing=outputs.missing_requirements",
       "--map", "why=outputs.explanation"]
HEADER = "code,reqs,complete,missing,why,difficulty,category\n"


def records(project: Path) -> list[dict]:
    path = project / COMPLETENESS
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def csv_row(i: int, complete: str = "true", missing: str = "") -> str:
    return (f'"def handler_{i}(req):\n    return ok()","Return 200;Log the call",{complete},'
            f'"{missing}","Explanation {i}.",medium,api\n')


def test_csv_rows_are_mapped_converted_and_checked(project: Path):
    (project / "in.csv").write_text(
        HEADER + csv_row(1) + csv_row(2, "no", "Log the call")
        + csv_row(3, "maybe") + csv_row(4, "false", "Not a listed requirement")
        + '"x","A",true,,"y",medium\n')
    result = run_tf("import", "in.csv", "-s", "validate_completeness", *MAP,
                    "--set", "metadata.notes=from the support backlog",
                    "--rejects", "rejects.jsonl", cwd=project)
    assert result.exit_code == 1
    imported = records(project)
    assert [r["inputs"]["implementation"] for r in imported] == [
        "def handler_1(req):\n    return ok()", "def handler_2(req):\n    return ok()"]
    first, second = imported
    assert first["inputs"]["requirements"] == ["Return 200", "Log the call"]
    assert first["outputs"] == {"is_complete": True, "missing_requirements": [],
                                "explanation": "Explanation 1."}
    assert second["outputs"]["is_complete"] is False
    assert first["metadata"] == {**first["metadata"], "source": "imported",
                                 "category": "api", "difficulty": "medium",
                                 "notes": "from the support backlog",
                                 "provenance": {"origin": "in.csv"}}
    rejects = [json.loads(x) for x in (project / "rejects.jsonl").read_text().splitlines()]
    assert [(r["row"], r["reasons"]) for r in rejects] == [
        (6, ["outputs.is_complete: 'maybe' is not a boolean (true/false, yes/no, 1/0)"]),
        (8, ['$.outputs.missing_requirements[0]: rule missing_are_listed_requirements: "Not a '
              'listed requirement" is not in inputs.requirements (rule: every item of '
              "outputs.missing_requirements is copied from inputs.requirements)"]),
        (10, ["6 cells, but the header has 7"])]
    assert rejects[0]["data"]["complete"] == "maybe"
    assert "5 rows: 2 imported" in result.stderr and "3 rejected" in result.stderr
    assert run_tf("validate", cwd=project).exit_code == 0
    assert run_tf("fmt", "--check", cwd=project).exit_code == 0


def test_json_jsonl_and_yaml_with_fields_named_like_the_schema(project: Path):
    def row(i):
        return {"implementation": f"impl {i}", "requirements": ["A", "B"], "is_complete": False,
                "missing_requirements": ["B"], "explanation": f"B is missing {i}.",
                "difficulty": "hard", "category": "database"}

    (project / "a.json").write_text(json.dumps([row(1), row(2)]))
    (project / "b.json").write_text(json.dumps({"examples": [row(3)], "exported": "today"}))
    (project / "c.jsonl").write_text(json.dumps(row(4)) + "\n\n" + json.dumps(row(5)) + "\n")
    (project / "d.yaml").write_text(
        "- implementation: |\n    impl 6\n    second line\n  requirements: [A, B]\n"
        "  is_complete: true\n  missing_requirements: []\n  explanation: All met.\n"
        "  difficulty: easy\n  category: api\n")
    for name in ("a.json", "b.json", "c.jsonl", "d.yaml"):
        result = run_tf("import", name, "-s", "validate_completeness", cwd=project)
        assert result.exit_code == 0, result.stdout + result.stderr
    got = records(project)
    assert [r["inputs"]["implementation"] for r in got] == [
        "impl 1", "impl 2", "impl 3", "impl 4", "impl 5", "impl 6\nsecond line\n"]
    assert got[-1]["outputs"]["is_complete"] is True


def test_duplicates_of_existing_examples_are_skipped(project: Path):
    (project / "in.csv").write_text(HEADER + csv_row(1) + csv_row(2))
    assert run_tf("import", "in.csv", "-s", "validate_completeness", *MAP,
                  cwd=project).exit_code == 0
    # Same inputs again, with different spacing and case, plus one new row.
    (project / "again.csv").write_text(
        HEADER + csv_row(1).replace("Return 200", "return  200") + csv_row(3))
    result = run_tf("import", "again.csv", "-s", "validate_completeness", *MAP, cwd=project)
    assert result.exit_code == 0
    assert "1 imported" in result.stderr and "1 duplicate skipped" in result.stderr
    assert len(records(project)) == 3


def test_all_or_nothing_and_dry_run_write_nothing(project: Path):
    (project / "in.csv").write_text(HEADER + csv_row(1) + csv_row(2, "maybe"))
    strict = run_tf("import", "in.csv", "-s", "validate_completeness", *MAP,
                    "--all-or-nothing", cwd=project)
    assert strict.exit_code == 1 and "nothing imported (--all-or-nothing)" in strict.stderr
    dry = run_tf("import", "in.csv", "-s", "validate_completeness", *MAP, "--dry-run",
                 "--rejects", "r.jsonl", cwd=project)
    assert dry.exit_code == 1 and "1 would be imported" in dry.stderr
    assert not (project / COMPLETENESS).exists() and not (project / "r.jsonl").exists()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.csv", HEADER.encode() + b'"unclosed,quote\n', "bad.csv:2: bad CSV"),
    ("bad.csv", HEADER.encode() + b'"x"y,A,true,,z,easy,api\n', "bad.csv:2: bad CSV"),
    ("bad.yaml", b"- a: [1, 2\n- b: 3\n", "bad.yaml:2: invalid YAML"),
    ("bomb.yaml", b'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
     b"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     b"d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n", "bomb.yaml:2: YAML aliases (*a) are not accepted"),
    ("blob.csv", b"code,reqs\n\x00\x01\x02\xff\xfe", "a binary file"),
    ("latin.csv", HEADER.encode() + 'caf\u00e9,A,true,,x,easy,api\n'.encode("latin-1"),
     "latin.csv:2: not utf-8 (byte 0xe9)"),
    ("bad.json", b'[{"a": 1},', "bad.json:1: invalid JSON"),
    ("empty.csv", b"", "empty file"),
    ("data.txt", b"hello", "cannot tell the format"),
])
def test_malformed_files_are_an_error_and_write_nothing(project: Path, name, content, message):
    (project / name).write_bytes(content)
    result = run_tf("import", name, "-s", "validate_completeness", *MAP, cwd=project)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert not (project / COMPLETENESS).exists()


def test_encoding_option_reads_other_encodings(project: Path):
    (project / "latin.csv").write_bytes(
        HEADER.encode() + 'caf\u00e9(),Serve coffee,true,,Serves it.,easy,api\n'.encode(
            "latin-1"))
    result = run_tf("import", "latin.csv", "-s", "validate_completeness", *MAP,
                    "--encoding", "latin-1", cwd=project)
    assert result.exit_code == 0
    assert records(project)[0]["inputs"]["implementation"] == "caf\u00e9()"


def test_bad_options_are_usage_errors(project: Path):
    (project / "in.csv").write_text(HEADER + csv_row(1))
    for args, message in [
        (["--map", "code"], "--map 'code': expected NAME=VALUE"),
        (["--map", "code=inputs.nope"], "inputs.nope: no such field in validate_completeness"),
        (["--set", "metadata.difficulty"], "expected NAME=VALUE"),
        (["--encoding", "klingon"], "--encoding klingon: unknown encoding"),
    ]:
        result = run_tf("import", "in.csv", "-s", "validate_completeness", *args, cwd=project)
        assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_an_import_killed_midway_leaves_a_valid_file(project: Path):
    (project / "in.csv").write_text(HEADER + csv_row(0))
    assert run_tf("import", "in.csv", "-s", "validate_completeness", *MAP,
                  cwd=project).exit_code == 0
    with open(project / "big.csv", "w") as f:
        f.write(HEADER)
        for i in range(1, 60_001):
            f.write(csv_row(i))
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen([sys.executable, "-m", "tf_cli", "import", "big.csv", "-s",
                                 "validate_completeness", *MAP], cwd=project,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert run_tf("validate", cwd=project).exit_code == 0
        count = len(records(project))
        assert count in (1, 60_001) or count % 60_000 == 1


def readme_import_example() -> tuple[str, list[str]]:
    """The CSV file and the `tf import` command of README.md's "From files", as written."""
    import shlex

    from tests.conftest import REPO

    section = (REPO / "README.md").read_text().split("### From files", 1)[1].split("\n### ")[0]
    csv_text = section.split("```csv\n", 1)[1].split("```", 1)[0]
    command = section.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    args = shlex.split(command)
    assert args[:3] == ["tf", "import", "tickets.csv"], args
    return csv_text, args[2:]


def test_the_readme_import_example_works_as_written_and_its_rejects_file_is_ignored(
        project: Path):
    from tests.conftest import REPO

    csv_text, args = readme_import_example()
    (project / "tickets.csv").write_text(csv_text)
    before = len(records(project))
    result = run_tf("import", *args, cwd=project)
    assert result.exit_code == 0, result.stdout + result.stderr
    imported = records(project)[before:]
    assert len(imported) == len(csv_text.splitlines()) - 1 == 2
    assert {r["metadata"]["difficulty"] for r in imported} == {"medium", "easy"}
    assert run_tf("validate", cwd=project).exit_code == 0
    # A rejected row goes to the file the README names, which git ignores.
    rejects = args[args.index("--rejects") + 1]
    (project / "tickets.csv").write_text(csv_text.replace("delete_user", "remove_user")
                                         .replace(",easy\n", ",trivial\n"))
    again = run_tf("import", *args, cwd=project)
    assert again.exit_code == 1
    assert f"rejected rows, with every reason: {rejects}" in again.stderr
    assert len((project / rejects).read_text().splitlines()) == 1
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", rejects], cwd=REPO)
    assert ignored.returncode == 0, f"{rejects} is not ignored by .gitignore"
