"""params.yaml's sections as typed settings, each default declared once, here.

`load_params` has already checked params.yaml against schemas/params.schema.json, so a
value present has the right JSON type; a key absent takes the default below. The suite
checks that these classes and the params schema name the same keys
(tests/unit/test_settings.py).

The sections with more logic keep their class beside it: `lm.LMSettings` (environment
overrides, where a key may go), `pipeline.optimize.OptimizeOptions` (optimizer checks) and
`pipeline.balance.BalanceOptions`; all of them are built with `section()`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def section(params: dict, name: str, cls: type[T]) -> T:
    """The `name` section of params as a `cls` dataclass: keys it does not declare are
    ignored (the params schema refuses unknown keys), absent ones take its defaults."""
    raw = params.get(name) or {}
    hints = typing.get_type_hints(cls)
    values = {}
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        if spec.name in raw:
            value = raw[spec.name]
            if isinstance(value, list) and typing.get_origin(hints[spec.name]) is tuple:
                value = tuple(value)
            values[spec.name] = value
    return cls(**values)


@dataclass(frozen=True)
class ValidateSettings:
    near_duplicate_threshold: float = 0.8  # MinHash Jaccard over word 3-grams
    train_pending: bool = False  # train on examples still awaiting review


@dataclass(frozen=True)
class QualitySettings:
    reject_below: float = 0.0  # the validate stage drops examples scored below this
    judge: bool = False  # an LM judge scores generated and bootstrapped examples


@dataclass(frozen=True)
class SynthesizeSettings:
    count: int = 0  # examples per run and signature; 0 turns the stage off
    batch_size: int = 5
    fill_gaps: bool = True


@dataclass(frozen=True)
class BootstrapSettings:
    program: str = "predict"  # predict | chain_of_thought


@dataclass(frozen=True)
class CaptureSettings:
    min_quality: float | None = None  # tf_cli.capture drops examples scored below this


@dataclass(frozen=True)
class PipelineSettings:
    signatures: tuple[str, ...] = ()


DEFAULT_DIVERSITY_SAMPLE = 2000  # coverage.diversity_sample: examples read for diversity
