"""Hostile input, generated: JSONL lines, params.yaml documents and schema fragments that a
pull request could bring. Properties: tf answers with a TfError or a result, never another
exception (a traceback at the command line), within bounded time, and a command that
fails writes nothing."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from tf_cli.errors import TfError
from tf_cli.fmt import format_files
from tf_cli.project import Project
from tf_cli.validate import validate

SIG = "validate_intent"
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
example_like = st.fixed_dictionaries({
    "id": st.one_of(st.text(max_size=30), json_value),
    "inputs": st.one_of(st.fixed_dictionaries({"user_intent": json_value,
                                               "implementation": json_value}), json_value),
    "outputs": json_value, "metadata": json_value})
hostile_line = st.one_of(
    example_like.map(lambda r: json.dumps(r).encode()),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60),
    st.integers(200, 1100).map(lambda depth: b'{"id":"x","inputs":' + b"[" * depth
                               + b"]" * depth + b"}"),
    st.sampled_from([b'{"id": "a", "id": "b"}', b'{"x": NaN}', b"\xef\xbb\xbf{}",
                     b'{"n": 123456789012345678901234567890}', b'{"f": 0.1000000000000000001}',
                     b"{\r", b"<<<<<<< ours", b'{"id":"01JE","metadata":{"review":[]}}']))


def _project(root: Path) -> Project:
    if not (root / "schemas").exists():
        shutil.copytree(REPO / "schemas", root / "schemas")
    (root / "datasets" / SIG).mkdir(parents=True, exist_ok=True)
    return Project(root)


@FUZZ
@given(lines=st.lists(hostile_line, min_size=1, max_size=8), newline_at_end=st.booleans())
def test_hostile_jsonl_is_reported_never_crashes_and_fmt_loses_nothing(
        tmp_path_factory, lines, newline_at_end):
    project = _project(tmp_path_factory.mktemp("jsonl"))
    path = project.dataset_dir(SIG) / "examples.jsonl"
    content = b"\n".join(lines) + (b"\n" if newline_at_end else b"")
    path.write_bytes(content)
    started = time.monotonic()
    report = validate(project)
    assert report.exit_code in (0, 1, 2)
    before = [line for line in _records(path)]
    result = format_files(project)
    if result.problems:
        assert path.read_bytes() == content  # a file it cannot fix is left untouched
    else:
        assert _records(path) == before  # every record kept, in order
    assert time.monotonic() - started < 20


def _records(path: Path) -> list:
    from tf_cli.records import read_lines

    return [line.record for line in read_lines(path) if line.record is not None]


yaml_scalar = st.one_of(st.integers(-5, 5), st.floats(allow_nan=False, width=16),
                        st.sampled_from(["error", "warn", "metadata.difficulty",
                                         "(SELECT 1)", "1; DROP TABLE x", "'", "null"]),
                        st.text(max_size=12))
yaml_like = st.recursive(yaml_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["coverage", "signatures", SIG, "dimensions",
                                     "requirements", "sql", "buckets", "dimension", "min",
                                     "level", "where", "max_share", "grid", "lm", "model",
                                     "api_base", "defaults", "min_examples"]),
                    inner, max_size=4)), max_leaves=25)


@FUZZ
@given(document=yaml_like, extra=st.sampled_from(["", "a: &a [1]\nb: *a\n",
                                                  "x: " + "[" * 80 + "]" * 80 + "\n",
                                                  ": : :\n", "\t- x\n"]))
def test_hostile_params_yaml_is_a_config_error_or_accepted(tmp_path_factory, document, extra):
    from ruamel.yaml import YAML

    from tf_cli.coverage import measure

    project = _project(tmp_path_factory.mktemp("params"))
    path = project.root / "params.yaml"
    yaml = YAML()
    with open(path, "w") as out:
        yaml.dump(document, out)
    if extra:
        path.write_text(path.read_text() + extra)
    try:
        measure(project, diversity=False)
    except TfError:
        pass  # a clear message at the command line
    assert sorted(p.name for p in project.root.iterdir()) == ["datasets", "params.yaml",
                                                              "schemas"]


schema_fragment = st.recursive(
    st.one_of(json_leaf, st.sampled_from([{"$ref": "#/$defs/a"}, {"$ref": "../x.json"},
                                          {"$ref": "http://example.com/s.json"},
                                          {"type": "string"}, {"$defs": {"a": {"$ref": "#"}}}])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(
                                ["type", "properties", "inputs", "outputs", "items", "$ref",
                                 "required", "$defs", "check", "field", "of", "limit", "rules",
                                 "name", "description", "schema"]), inner, max_size=4)),
    max_leaves=15)


@FUZZ
@given(schema=schema_fragment, rules=schema_fragment)
def test_hostile_schemas_and_rules_are_config_errors(tmp_path_factory, schema, rules):

    project = _project(tmp_path_factory.mktemp("schema"))
    (project.schemas_dir / f"{SIG}.schema.json").write_text(json.dumps(schema))
    (project.schemas_dir / f"{SIG}.rules.json").write_text(json.dumps(rules))
    try:
        project.signature(SIG)
        validate(project)
    except TfError:
        pass


@pytest.mark.parametrize("depth", [300, 2000])
def test_nesting_beyond_every_limit_stays_an_error(tmp_path: Path, depth: int):
    project = _project(tmp_path)
    path = project.dataset_dir(SIG) / "examples.jsonl"
    path.write_bytes(b'{"id":"x","inputs":' + b"[" * depth + b"]" * depth + b"}\n")
    assert validate(project).exit_code == 1
