"""Reading a model's answer (tf_cli.structured.find_json), the response format's spelling,
and inlining a schema's references for a grammar, hostile schemas included."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import fixture_project_at
from tf_cli.errors import ConfigError
from tf_cli.project import Project
from tf_cli.structured import Constraint, find_json, for_grammar, response_format, spell


@pytest.mark.parametrize("answer, found", [
    ('{"examples": [1]}', {"examples": [1]}),
    ('```json\n{"examples": [1]}\n```', {"examples": [1]}),
    ('Here are the examples:\n[{"inputs": {}}]\nHope this helps!', [{"inputs": {}}]),
    ('Sure. {"a": {"b": [1, 2]}} and then {"c": 3}', {"a": {"b": [1, 2]}}),
    ('I think {not json} but [1, 2] is', [1, 2]),
])
def test_the_first_json_object_or_list_is_found_wherever_it_is(answer, found):
    assert find_json(answer) == found


@pytest.mark.parametrize("answer", ["", "Sorry, I can't help with that.", "{broken", "42",
                                    '"a string"'])
def test_an_answer_with_no_object_or_list_is_refused(answer):
    with pytest.raises(ValueError):
        find_json(answer)


def test_a_hostile_answer_is_read_in_bounded_time():
    answers = ["{" * 200_000, "[" * 100_000 + "x", '{"a": ' * 50_000, "{x " * 300_000]
    started = time.perf_counter()
    for answer in answers:
        with pytest.raises(ValueError):
            find_json(answer)
    assert time.perf_counter() - started < 10


def test_the_format_is_spelled_for_each_server():
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "\\S"},
                                               "b": {"type": "string", "pattern": "^x+$"}}}
    asked = response_format("validate intent/v2", schema)
    assert asked["json_schema"]["name"] == "validate_intent_v2"
    # An unanchored pattern goes (llama.cpp would drop the whole schema); anchored stays.
    assert asked["json_schema"]["schema"]["properties"] == {
        "a": {"type": "string"}, "b": {"type": "string", "pattern": "^x+$"}}
    assert for_grammar({"properties": {"pattern": {"type": "string"}}}) == {
        "properties": {"pattern": {"type": "string"}}}  # a field named pattern is no keyword
    body = {"messages": [], "response_format": asked}
    assert not spell(body, "json_schema") and body["response_format"] is asked
    assert spell(body, "json_object")
    assert body["response_format"] == {"type": "json_object",
                                       "schema": asked["json_schema"]["schema"]}
    body = {"response_format": asked}
    assert spell(body, "off") and "response_format" not in body


def test_a_constraint_steps_down_once_and_only_when_allowed():
    auto = Constraint("auto")
    assert auto.step_down("json_schema", "refused") and auto.mode == "json_object"
    assert auto.step_down("json_schema", "refused again")  # another thread's: already done
    assert auto.mode == "json_object" and auto.refusals == ["json_schema: refused"]
    assert auto.step_down("json_object", "no") and auto.mode == "off" and not auto.active
    fixed = Constraint("json_schema")
    assert not fixed.step_down("json_schema", "refused") and fixed.mode == "json_schema"
    with pytest.raises(ValueError):
        Constraint("grammar")
    # Through LiteLLM only OpenAI's spelling can be sent: auto skips llama-cpp-python's.
    litellm = Constraint("auto", spellable=("json_schema", "off"))
    assert litellm.step_down("json_schema", "refused") and litellm.mode == "off"
    named = Constraint("json_object", spellable=("json_schema", "off"))
    assert named.mode == "off" and "LiteLLM" in named.refusals[0]


def test_inlining_follows_references_across_files_and_stops_a_hostile_schema(tmp_path: Path):
    root = fixture_project_at(tmp_path / "project")
    project = Project(root)
    signature = project.signature("validate_completeness")
    outputs = project.schemas.inline(signature.schema["properties"]["outputs"], signature)
    text = json.dumps(outputs)
    assert "$ref" not in text and "$defs" not in text
    # text_list in common.schema.json refers to its own text: followed from that file.
    assert outputs["properties"]["missing_requirements"]["items"]["type"] == "string"

    # Each level refers twice to the one below: 2**40 nodes once expanded.
    defs = {f"d{i}": {"type": "object", "properties": {"a": {"$ref": f"#/$defs/d{i + 1}"},
                                                       "b": {"$ref": f"#/$defs/d{i + 1}"}}}
            for i in range(40)}
    defs["d40"] = {"type": "string"}
    refused_quickly(root, defs, "d0", "expands past")


def refused_quickly(root: Path, defs: dict, start: str, message: str) -> None:
    """validate_completeness's schema with these $defs: inlining #/$defs/<start> raises a
    ConfigError saying `message`, within seconds."""
    schema_file = root / "schemas" / "validate_completeness.schema.json"
    schema = json.loads(schema_file.read_text())
    schema_file.write_text(json.dumps({**schema, "$defs": defs}))
    project = Project(root)
    signature = project.signature("validate_completeness")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=message):
        project.schemas.inline({"$ref": f"#/$defs/{start}"}, signature)
    assert time.perf_counter() - started < 5


def test_a_busy_server_that_mentions_a_grammar_is_retried_not_stepped_down():
    from dspy.utils.exceptions import LMInvalidRequestError, LMServerError

    from tf_cli import lm
    from tf_cli.structured import refused_format

    busy = LMServerError("server busy: grammar sampler queue full; retry later", status=503)
    assert not refused_format(busy) and lm.retry_wait(busy, 0, cap=30) == 1.0
    llama = LMServerError("1 validation error: ('body', 'response_format', 'type') Input "
                          "should be 'text' or 'json_object'", status=500)
    assert refused_format(llama)
    assert refused_format(LMInvalidRequestError("response_format json_schema is not "
                                                 "supported", status=400))
    assert not refused_format(LMServerError("internal error", status=500))


def test_a_long_answer_that_is_json_throughout_is_read_whole():
    answer = json.dumps({"examples": [{"inputs": {"text": "x" * 1000}}] * 3500})
    assert len(answer) > 3_000_000 and len(find_json(answer)["examples"]) == 3500


def test_a_long_candidate_is_kept_as_an_excerpt_in_the_evidence():
    from tf_cli.proposals import MAX_CANDIDATE_BYTES, candidate_evidence

    huge = {"id": "x", "inputs": {"implementation": "y" * 900_000}, "outputs": {},
            "metadata": {"provenance": {"target_cell": {"a": "b"}, "prompt_hash": "h"}}}
    shown = candidate_evidence(huge)
    assert isinstance(shown["candidate"], str)
    assert len(shown["candidate"]) < MAX_CANDIDATE_BYTES + 100
    assert shown["target_cell"] == {"a": "b"}
    small = {"id": "x", "inputs": {"a": "b"}, "outputs": {"c": 1}}
    assert candidate_evidence(small)["candidate"] == small


def test_values_multiplied_by_references_count_against_the_budget(tmp_path: Path):
    root = fixture_project_at(tmp_path / "project")
    # 75 x 75 references to one enum of 1,000 strings: 26 KB of schema, 100 MB expanded.
    refused_quickly(root, {
        "choice": {"enum": [f"value number {i}" for i in range(1000)]},
        "row": {"type": "object", "properties": {f"c{i}": {"$ref": "#/$defs/choice"}
                                                 for i in range(75)}},
        "table": {"type": "object", "properties": {f"r{i}": {"$ref": "#/$defs/row"}
                                                   for i in range(75)}}},
        "table", "bytes of values")
