"""tf validate through the command line: cases too large for golden files, paths, formats."""

from __future__ import annotations

import json
import shutil

from tests.conftest import EXAMPLE_FILES

VALID = EXAMPLE_FILES / "positive" / "valid_canonical" / "datasets"
COMPLETENESS = "datasets/validate_completeness/examples.jsonl"


def _use_valid_data(project):
    shutil.copytree(VALID, project / "datasets", dirs_exist_ok=True)
    return (project / COMPLETENESS).read_bytes().splitlines(keepends=True)


def test_a_line_of_many_megabytes_is_reported_without_reading_it_whole(project, tf):
    lines = _use_valid_data(project)
    huge = b'{"id": "' + b"x" * (8 << 20) + b'"}\n'
    (project / COMPLETENESS).write_bytes(lines[0] + huge + lines[1])
    result = tf("validate")
    assert result.exit_code == 1
    assert result.stdout == (
        f"{COMPLETENESS}:2: line is 8,388,619 bytes, over the 1,048,576-byte limit: split the "
        "example, or raise --max-line-bytes if it is really meant\n")
    assert tf("validate", "--max-line-bytes", str(16 << 20)).stdout.startswith(
        f"{COMPLETENESS}:2: $: ")  # now parsed, and the schema rejects it


def test_nesting_deep_enough_to_crash_a_recursive_parser_is_reported(project, tf):
    lines = _use_valid_data(project)
    for depth in (2_000, 200_000):
        deep = b'{"id": ' + b"[" * depth + b"]" * depth + b"}\n"
        (project / COMPLETENESS).write_bytes(lines[0] + deep)
        result = tf("validate")
        assert result.exit_code == 1
        assert result.stdout == (
            f"{COMPLETENESS}:2: JSON nested more than 1024 levels deep: flatten the record\n")


def test_every_problem_is_reported_not_only_the_first(project, tf):
    lines = _use_valid_data(project)
    (project / COMPLETENESS).write_bytes(b"".join([b"{\n", lines[0], b"[]\n", b"nope\n"]))
    result = tf("validate")
    assert [line.split(":")[1] for line in result.stdout.splitlines()] == ["1", "3", "4"]


def test_json_format_lists_problems_with_their_location(project, tf):
    _use_valid_data(project)
    with open(project / COMPLETENESS, "ab") as f:
        f.write(b'{"id": 5}\n')
    result = tf("validate", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["ok"] is False and report["examples"] == 4
    assert {(p["line"], p["pointer"]) for p in report["problems"]} >= {(4, "$.id"), (4, "$")}


def test_valid_data_exits_zero_with_a_summary_on_stderr(project, tf):
    _use_valid_data(project)
    result = tf("validate")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "ok: 3 examples in 1 file of 7 signatures" in result.stderr


def test_explicit_paths_check_only_those_files_but_ids_across_all(project, tf):
    lines = _use_valid_data(project)
    synthetic = project / "datasets/validate_completeness/synthetic.jsonl"
    synthetic.write_bytes(lines[1])  # the same example, so the same id
    (project / "datasets/validate_completeness/broken.jsonl").write_bytes(b"{\n")
    result = tf("validate", str(synthetic))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{synthetic.relative_to(project)}:1: $.id: duplicate id \"01JDQ7Z8K3M2N4P5Q6R7S8T902\", "
        f"first used at {COMPLETENESS}:2: give one of them a new id (if a merge duplicated an "
        "edited example, keep one version)"]


def test_a_file_outside_datasets_needs_signature(project, tf):
    outside = project / "incoming.jsonl"
    shutil.copy(VALID / "validate_completeness/examples.jsonl", outside)
    result = tf("validate", str(outside))
    assert result.exit_code == 2
    assert "not under datasets/" in result.stderr and "--signature" in result.stderr
    assert tf("validate", str(outside), "--signature", "validate_completeness").exit_code == 0
    assert tf("validate", str(outside), "--signature", "validate_intent").exit_code == 1


def test_usage_errors_exit_two_with_a_message(project, tf):
    missing = tf("validate", "no/such/file.jsonl")
    assert missing.exit_code == 2 and "no such file or folder" in missing.stderr
    unknown = tf("validate", "--signature", "nope")
    assert unknown.exit_code == 2 and "known signatures: extract_requirements" in unknown.stderr
    bad_flag = tf("validate", "--format", "xml")
    assert bad_flag.exit_code == 2 and "'xml' is not one of" in bad_flag.stderr


def test_outside_a_project_says_where_to_run(tmp_path):
    from tests.conftest import run_tf

    result = run_tf("validate", cwd=tmp_path)
    assert result.exit_code == 2 and "no schemas/ folder" in result.stderr


def test_a_changed_shared_schema_revalidates_every_signature(project, tf):
    _use_valid_data(project)
    common = project / "schemas/common.schema.json"
    schema = json.loads(common.read_text())
    schema["$defs"]["metadata"]["properties"]["category"]["enum"] = ["security"]
    common.write_text(json.dumps(schema))
    result = tf("validate", "schemas/common.schema.json")
    assert result.exit_code == 1
    assert result.stdout.count('$.metadata.category: "api" is not one of') == 3


def test_a_local_ref_to_another_file_in_schemas_resolves(project, tf):
    _use_valid_data(project)
    shared = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$defs": {"strict_id": {"type": "string", "pattern": "^01J"}}}
    (project / "schemas/ids.schema.json").write_text(json.dumps(shared))
    path = project / "schemas/validate_completeness.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["id"] = {"$ref": "ids.schema.json#/$defs/strict_id"}
    path.write_text(json.dumps(schema))
    assert tf("validate").exit_code == 0
    shared["$defs"]["strict_id"]["pattern"] = "^99"
    (project / "schemas/ids.schema.json").write_text(json.dumps(shared))
    assert tf("validate").stdout.count('does not match "^99"') == 3


def test_a_ref_escaping_schemas_is_refused_before_reading_it(project, tf):
    (project / "secret.json").write_text("{}")
    path = project / "schemas/validate_intent.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["id"] = {"$ref": "../secret.json"}
    path.write_text(json.dumps(schema))
    result = tf("validate")
    assert result.exit_code == 2
    assert '$ref "../secret.json" points outside schemas/' in result.stdout


def test_refs_to_ids_declared_in_schemas_are_local_whatever_their_scheme(project, tf):
    """Draft 2020-12: a $ref resolves against the nearest $id; a resource whose $id a file
    in schemas/ declares needs no fetch, whether the id is a urn or an https URL."""
    _use_valid_data(project)
    shared = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": "https://example.com/schemas/shared.json",
              "$defs": {"strict_id": {"type": "string", "pattern": "^01J"},
                        "short": {"$anchor": "short-text", "type": "string", "maxLength": 400}}}
    (project / "schemas/shared.schema.json").write_text(json.dumps(shared))
    path = project / "schemas/validate_completeness.schema.json"
    schema = json.loads(path.read_text())
    schema["$defs"] = {**schema.get("$defs", {}), "local": {
        "$id": "urn:uuid:6f1c2b0e-7a55-4c39-9d0e-2f4c8f0a9b11", "type": "boolean"}}
    schema["properties"]["id"] = {"$ref": "https://example.com/schemas/shared.json#/$defs/strict_id"}
    schema["properties"]["outputs"]["properties"]["is_complete"] = {
        "$ref": "urn:uuid:6f1c2b0e-7a55-4c39-9d0e-2f4c8f0a9b11"}
    schema["properties"]["outputs"]["properties"]["explanation"] = {
        "$ref": "https://example.com/schemas/shared.json#short-text"}
    path.write_text(json.dumps(schema))
    assert tf("validate").exit_code == 0
    assert tf("coverage", "-s", "validate_completeness").exit_code == 0
    shared["$defs"]["strict_id"]["pattern"] = "^99"
    (project / "schemas/shared.schema.json").write_text(json.dumps(shared))
    assert tf("validate").stdout.count('does not match "^99"') == 3
    schema["properties"]["id"] = {"$ref": "https://example.com/schemas/elsewhere.json"}
    path.write_text(json.dumps(schema))
    refused = tf("validate")
    assert refused.exit_code == 2
    assert '"https://example.com/schemas/elsewhere.json" points outside schemas/' in \
        refused.stdout


def test_an_example_lists_its_first_problems_and_counts_the_rest(project, tf):
    """One line of 5,000 wrong list items is 5,000 schema errors: listed, they took memory
    and time without end (a pull request decides how many)."""
    lines = _use_valid_data(project)
    record = json.loads(lines[0])
    record["outputs"]["missing_requirements"] = [1] * 5_000
    (project / COMPLETENESS).write_bytes(json.dumps(record).encode() + b"\n")
    shown = tf("validate").stdout.splitlines()
    assert len(shown) == 21, shown[-3:]
    more = shown[-1].removeprefix(f"{COMPLETENESS}:1: ").split(" more schema problems")
    assert more[1] == " in this example are not listed" and int(more[0].replace(",", "")) >= \
        4_980  # each item's type, and whatever else the list breaks


def test_a_file_of_endless_problems_is_checked_up_to_a_bound(project, tf):
    """30 MB of blank lines were 30 million problems; tf stops at 10,000 and says so."""
    _use_valid_data(project)
    (project / COMPLETENESS).write_bytes(b"\n" * 50_000)
    result = tf("validate", "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert len(problems) == 10_001
    assert problems[0]["message"].startswith("tf stopped checking this file after 10,000 "
                                             "problems")
    assert problems[-1]["line"] == 10_000


def test_a_pattern_that_is_no_regex_is_named_where_it_is(project, tf):
    path = project / "schemas/validate_intent.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["outputs"]["properties"]["explanation"] = {"type": "string",
                                                                    "pattern": "(["}
    path.write_text(json.dumps(schema))
    result = tf("validate")
    assert result.exit_code == 2
    assert ("schemas/validate_intent.schema.json: $.properties.outputs.properties.explanation"
            '.pattern: not a valid schema: "([" is not a "regex"') in result.stdout


def test_a_rules_file_of_endless_rules_is_refused_before_it_is_read(project, tf):
    """2,000,000 rules (4 MB) took gigabytes to list as format errors and would run on
    every example: a rules file holds at most 200, and lists at most 20 format errors."""
    path = project / "schemas/support_response.rules.json"
    path.write_text('{"rules":[' + ",".join(["1"] * 2_000_000) + "]}")  # under 4 MiB
    result = tf("validate")
    assert result.exit_code == 2
    assert "support_response.rules.json: $.rules: 2,000,000 rules, over the 200" in result.stdout
    path.write_text('{"rules": [' + ", ".join(["1"] * 150) + "]}")
    listed = [line for line in tf("validate").stdout.splitlines() if "rules.json" in line]
    assert len(listed) == 20
