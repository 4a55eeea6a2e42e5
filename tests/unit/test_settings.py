"""Settings: every params.yaml key has one default, in tf_cli.settings or the class beside
its section, and those classes and schemas/params.schema.json name the same keys."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.conftest import REPO
from tf_cli.lm import LMSettings, settings
from tf_cli.pipeline.balance import BalanceOptions
from tf_cli.pipeline.optimize import OptimizeOptions
from tf_cli.pipeline.pool import PoolOptions
from tf_cli.settings import (
    BootstrapSettings,
    CaptureSettings,
    PipelineSettings,
    QualitySettings,
    SynthesizeSettings,
    ValidateSettings,
    section,
)

SECTIONS = {"validate": ValidateSettings, "quality": QualitySettings,
            "synthesize": SynthesizeSettings, "bootstrap": BootstrapSettings,
            "capture": CaptureSettings, "pipeline": PipelineSettings,
            "balance": BalanceOptions, "optimize": OptimizeOptions, "lm": LMSettings}
DERIVED = {"api_base_trusted"}  # computed from the environment, never read from params


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_each_section_class_declares_exactly_the_schema_keys(name: str):
    schema = json.loads((REPO / "schemas/params.schema.json").read_text())
    declared = set(schema["properties"][name]["properties"])
    fields = {f.name for f in dataclasses.fields(SECTIONS[name])} - DERIVED
    assert fields == declared


def test_absent_keys_take_the_one_default_and_given_ones_win():
    assert PoolOptions.from_params({}).near_duplicate_threshold == \
        ValidateSettings().near_duplicate_threshold
    options = section({"balance": {"cell_dimensions": ["difficulty", "category"]}},
                      "balance", BalanceOptions)
    assert options.cell_dimensions == ("difficulty", "category")
    assert options.dev_fraction == BalanceOptions().dev_fraction
    assert settings({"lm": {"deadline": 12}}).deadline == 12
    assert settings({}).max_answer_bytes == LMSettings().max_answer_bytes
