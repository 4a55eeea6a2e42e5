"""Every signature of the fixture through the pipeline's library steps in this process:
validate, balance, convert and optimize (offline: labeled_fewshot), then loaded back with
tf_cli.load_examples and tf_cli.load_program. Each signature brings other output types
(booleans, text, numbers, lists of strings and of integers), and each must survive the trip
into dspy.Example with the type its schema gives. The DVC pipeline runs the same functions
(stages/*.py) end to end in test_pipeline.py, on fewer signatures: a DVC run costs seconds
per stage, this a fraction of a second."""

from __future__ import annotations

from pathlib import Path

import pytest

import tf_cli
from tests.conftest import FIXTURE_PROJECT, fixture_project_at
from tf_cli.pipeline.balance import balance
from tf_cli.pipeline.convert import convert
from tf_cli.pipeline.optimize import optimize
from tf_cli.pipeline.validate import PoolOptions, build_pool
from tf_cli.project import Project

SIGNATURES = sorted(p.name for p in (FIXTURE_PROJECT / "datasets").iterdir() if p.is_dir())
PYTHON_TYPES = {"boolean": bool, "string": str, "integer": int, "number": (int, float),
                "array": list, "object": dict}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return Project(fixture_project_at(tmp_path_factory.mktemp("every") / "project"))


def test_the_fixture_has_data_for_the_signature_with_integer_lists():
    assert "generate_guidance" in SIGNATURES and "validate_completeness" in SIGNATURES


@pytest.mark.parametrize("signature", SIGNATURES)
def test_each_signature_goes_through_every_step_with_its_types(project: Project, signature,
                                                                monkeypatch):
    monkeypatch.delenv("TF_LM_MODEL", raising=False)  # offline, whatever the shell says
    pooled = build_pool(project, signature, PoolOptions.from_settings(project.settings))
    assert pooled["accepted"] > 0, pooled
    split = balance(project, signature, project.settings.balance)
    assert split["train"] > 0, split
    converted = convert(project, signature)
    assert converted["train"] == split["train"] and converted["dev"] == split["dev"]
    report = optimize(project, signature, project.settings.optimize)
    assert report["optimizer"] == "labeled_fewshot" and report["evaluated"] is False

    compiled = project.signature(signature)
    outputs = {field: project.schemas.resolve(spec, compiled)  # "$ref": common.schema.json
               for field, spec in compiled.schema["properties"]["outputs"]["properties"].items()}
    examples = tf_cli.load_examples(signature, split="train", project=project.root)
    assert len(examples) == split["train"]
    checked = 0
    for example in examples:
        for field, spec in outputs.items():
            kind = spec.get("type")
            if field in example and isinstance(kind, str):
                assert isinstance(example[field], PYTHON_TYPES[kind]), (field, example[field])
                checked += 1
    assert checked >= len(examples)  # every example had a typed output field to check
    program = tf_cli.load_program(signature, project=Path(project.root))
    assert len(program.demos) == report["demos"] > 0
