"""params.yaml's sections as typed settings, each default declared once, here.

`Project.settings` builds a `Settings` once per command or stage. `load_params` has
already checked params.yaml against tf_cli/params.schema.json (beside this file), so a value
present has the right JSON type; a key absent takes the default below. The suite checks
that these classes and the params schema name the same keys (tests/unit/test_settings.py).

One section keeps its class beside its logic: `lm.LMSettings`, whose values the environment
can override and whose base URL must be checked for where a key may go (`Project.lm`).
The `coverage` section is a set of requirements per signature, parsed by
`coverage.spec` (`Signature.coverage`).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


def section(params: dict, name: str, cls: type[T]) -> T:
    """The `name` section of params as a `cls` dataclass: keys it does not declare are
    ignored (the params schema refuses unknown keys), absent ones take its defaults."""
    raw = params.get(name) or {}
    hints = typing.get_type_hints(cls)
    values = {}
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        if dataclasses.is_dataclass(hints[spec.name]):  # a nested section: optimize.metric
            values[spec.name] = section(raw, spec.name, hints[spec.name])
        elif spec.name in raw:
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


@dataclass(frozen=True)
class BalanceSettings:
    dev_fraction: float = 0.25
    cell_dimensions: tuple[str, ...] = ("difficulty",)
    max_per_cell: int | None = None
    max_synthetic_share: float = 0.5


# The optimizers the optimize stage knows (pipeline/optimize.py maps each to DSPy's class).
OPTIMIZERS = ("mipro_v2", "bootstrap_fewshot", "bootstrap_random_search", "labeled_fewshot")


@dataclass(frozen=True)
class MetricSettings:
    """optimize.metric: how the DSPy metric (dspy_io.make_metric) scores a prediction."""

    exclude: tuple[str, ...] = ()  # output fields left unscored
    weights: dict[str, float] = field(default_factory=dict)  # per output field; absent: 1
    tolerance: float = 0.1  # relative difference within which two numbers count as equal
    pass_threshold: float = 0.7  # a bootstrapped trace passes at this score or above


@dataclass(frozen=True)
class OptimizeSettings:
    optimizer: str = "mipro_v2"
    program: str = "predict"  # predict | chain_of_thought
    auto: str | None = "light"
    max_bootstrapped_demos: int = 2
    max_labeled_demos: int = 4
    num_candidates: int | None = None
    num_trials: int | None = None
    seed: int = 9
    metric: MetricSettings = field(default_factory=MetricSettings)

    def problem(self) -> tuple[str, str] | None:
        """(key, message) for a combination the schema cannot express; checked where the
        optimizer runs (tf_cli.pipeline.optimize), so it never stops an unrelated stage."""
        if self.optimizer not in OPTIMIZERS:
            return "optimizer", f'"{self.optimizer}" is not one of {", ".join(OPTIMIZERS)}'
        manual = (self.num_candidates, self.num_trials)
        if self.optimizer == "mipro_v2" and self.auto is None and None in manual:
            return "auto", ("mipro_v2 with auto: null needs num_candidates and num_trials: "
                            "set both, or auto: light | medium | heavy")
        if self.optimizer == "mipro_v2" and self.auto and manual != (None, None):
            return "auto", ("mipro_v2 takes auto or num_candidates/num_trials, not both: set "
                            "auto: null to use num_candidates and num_trials")
        return None


@dataclass(frozen=True)
class EffectSettings:
    """The effect stage (tf_cli.effect): what each bucket and chosen demo does for the dev
    score, measured by evaluating the optimized program without it."""

    max_lm_calls: int = 300  # per signature and run; 0 turns the measurement off
    dimensions: tuple[str, ...] | None = None  # coverage dimensions to ablate; None: all
    harmful_below: float = -5.0  # percent points: a demo whose removal gains more is harmful
    low_value_below: float = 1.0  # percent points: a demo that helps less is low-value


@dataclass(frozen=True)
class LifecycleSettings:
    """tf prune's policies (tf_cli.prune); each None (or empty) is off."""

    max_age_days: dict[str, int | None] = field(default_factory=dict)  # source -> days
    min_quality: float | None = None  # metadata.quality.score below it retires
    max_per_cell: int | None = None  # per cell of balance.cell_dimensions, best kept
    harmful_runs: int | None = None  # flagged harmful by this many effect runs in a row


@dataclass(frozen=True)
class CoverageSettings:
    """The coverage section's one setting; its requirements are parsed by coverage.spec."""

    diversity_sample: int = 2000  # examples (a seeded sample) the diversity score reads


@dataclass(frozen=True)
class Settings:
    """Every section of params.yaml but `lm` (see the module docstring); of `coverage`, the
    settings, not the requirements."""

    validate: ValidateSettings
    quality: QualitySettings
    synthesize: SynthesizeSettings
    bootstrap: BootstrapSettings
    capture: CaptureSettings
    pipeline: PipelineSettings
    balance: BalanceSettings
    optimize: OptimizeSettings
    effect: EffectSettings
    lifecycle: LifecycleSettings
    coverage: CoverageSettings

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        hints = typing.get_type_hints(cls)
        return cls(**{spec.name: section(params, spec.name, hints[spec.name])
                      for spec in dataclasses.fields(cls)})

