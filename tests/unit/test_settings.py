"""Settings: every params.yaml key has one default, in tf_cli.settings (or lm.LMSettings),
and those classes and tf_cli/params.schema.json name the same keys."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from tf_cli.errors import TfError
from tf_cli.lm import LMSettings, settings
from tf_cli.params import SCHEMA_PATH
from tf_cli.pipeline.validate import PoolOptions
from tf_cli.settings import (
    BalanceSettings,
    OptimizeSettings,
    Settings,
    ValidateSettings,
    section,
)

SECTIONS = {**typing.get_type_hints(Settings), "lm": LMSettings}
DERIVED = {"api_base_trusted"}  # computed from the environment, never read from params


def test_settings_name_every_section_of_the_schema_but_coverage():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert set(SECTIONS) == set(schema["properties"]) - {"coverage"}


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_each_section_class_declares_exactly_the_schema_keys(name: str):
    schema = json.loads(SCHEMA_PATH.read_text())
    declared = set(schema["properties"][name]["properties"])
    fields = {f.name for f in dataclasses.fields(SECTIONS[name])} - DERIVED
    assert fields == declared


def test_absent_keys_take_the_one_default_and_given_ones_win():
    assert PoolOptions.from_settings(Settings.from_params({})).near_duplicate_threshold == \
        ValidateSettings().near_duplicate_threshold
    options = section({"balance": {"cell_dimensions": ["difficulty", "category"]}},
                      "balance", BalanceSettings)
    assert options.cell_dimensions == ("difficulty", "category")
    assert options.dev_fraction == BalanceSettings().dev_fraction
    assert settings({"lm": {"deadline": 12}}).deadline == 12
    assert settings({}).max_answer_bytes == LMSettings().max_answer_bytes


def test_optimizer_combinations_the_schema_cannot_express_are_refused():
    with pytest.raises(TfError, match="needs num_candidates and num_trials"):
        Settings.from_params({"optimize": {"auto": None}})
    with pytest.raises(TfError, match="not both"):
        OptimizeSettings(auto="light", num_trials=3)
    assert Settings.from_params({"optimize": {"auto": None, "num_candidates": 3,
                                              "num_trials": 4}}).optimize.num_trials == 4
