"""Settings: every params.yaml key has one default, in tf_cli.settings (or lm.LMSettings),
and those classes and tf_cli/params.schema.json name the same keys."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from tf_cli.lm import LMSettings, settings
from tf_cli.params import SCHEMA_PATH
from tf_cli.pipeline.validate import PoolOptions
from tf_cli.settings import (
    BalanceSettings,
    CoverageSettings,
    MetricSettings,
    OptimizeSettings,
    Settings,
    ValidateSettings,
    section,
)

SECTIONS = {**typing.get_type_hints(Settings), "lm": LMSettings}
DERIVED = {"api_base_trusted"}  # computed from the environment, never read from params


# The coverage section's requirements, parsed by tf_cli.coverage.spec, not settings.
REQUIREMENTS = {"defaults", "signatures"}


def test_settings_name_every_section_of_the_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert set(SECTIONS) == set(schema["properties"])


def declared_keys(cls: type, schema: dict, where: str) -> list[str]:
    """Where the dataclass `cls` and the schema object `schema` disagree, nested sections
    (optimize.metric) included."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)} - DERIVED
    keys = set(schema["properties"]) - (REQUIREMENTS if where == "coverage" else set())
    found = [f"{where}.{key}" for key in fields ^ keys]
    for name in fields & keys:
        if dataclasses.is_dataclass(hints[name]):
            found += declared_keys(hints[name], schema["properties"][name], f"{where}.{name}")
    return found


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_each_section_class_declares_exactly_the_schema_keys(name: str):
    schema = json.loads(SCHEMA_PATH.read_text())
    assert declared_keys(SECTIONS[name], schema["properties"][name], name) == []


def test_absent_keys_take_the_one_default_and_given_ones_win():
    assert PoolOptions.from_settings(Settings.from_params({})).near_duplicate_threshold == \
        ValidateSettings().near_duplicate_threshold
    options = section({"balance": {"cell_dimensions": ["difficulty", "category"]}},
                      "balance", BalanceSettings)
    assert options.cell_dimensions == ("difficulty", "category")
    assert options.dev_fraction == BalanceSettings().dev_fraction
    assert settings({"lm": {"deadline": 12}}).deadline == 12
    assert settings({}).max_answer_bytes == LMSettings().max_answer_bytes
    metric = Settings.from_params({"optimize": {"metric": {"exclude": ["a"]}}}).optimize.metric
    assert metric.exclude == ("a",) and metric.tolerance == MetricSettings().tolerance
    assert Settings.from_params({}).coverage.diversity_sample == \
        CoverageSettings().diversity_sample


def test_optimizer_combinations_the_schema_cannot_express_are_found():
    settings = Settings.from_params({"optimize": {"auto": None}})  # built: nothing refused
    assert settings.optimize.problem() == ("auto", "mipro_v2 with auto: null needs "
                                           "num_candidates and num_trials: set both, or "
                                           "auto: light | medium | heavy")
    assert "not both" in OptimizeSettings(auto="light", num_trials=3).problem()[1]
    assert OptimizeSettings(optimizer="nope").problem()[0] == "optimizer"
    assert Settings.from_params({"optimize": {"auto": None, "num_candidates": 3,
                                              "num_trials": 4}}).optimize.problem() is None


def test_the_optimize_stage_refuses_them_with_the_params_line(project):
    from tf_cli.errors import ConfigError
    from tf_cli.pipeline.optimize import optimize
    from tf_cli.project import Project

    (project / "params.yaml").write_text("# tuning\noptimize:\n  auto: null\n")
    opened = Project(project)
    with pytest.raises(ConfigError) as refused:
        optimize(opened, "validate_intent", opened.settings.optimize)
    assert str(refused.value).startswith("params.yaml:3: $.optimize.auto: optimize.auto: "
                                         "mipro_v2 with auto: null needs"), str(refused.value)
