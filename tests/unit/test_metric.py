"""The optimizer's metric and the rule score, in-process: they must tell good answers from
bad ones, or optimization has nothing to climb."""

from __future__ import annotations

from pathlib import Path

import dspy
import pytest

from tf_cli.dspy_io import make_metric
from tf_cli.errors import ConfigError
from tf_cli.project import find_project
from tf_cli.quality import rule_score
from tf_cli.settings import MetricSettings, Settings

LABEL = {"is_complete": False,
         "missing_requirements": ["Reset links expire after one hour",
                                  "Each link works only once"],
         "explanation": "The token is never stored with an expiry, and it is not deleted "
                        "after use, so the same link keeps working."}


@pytest.fixture
def completeness(project: Path):
    found = find_project(project)
    return found.schemas, found.signature("validate_completeness")


def score(metric, prediction: dict, trace=None):
    example = dspy.Example(implementation="def reset(): ...",
                           requirements=["Send a reset link by email", *LABEL[
                               "missing_requirements"]], **LABEL)
    return metric(example.with_inputs("implementation", "requirements"),
                  dspy.Prediction(**prediction), trace)


def metric_settings(metric: dict) -> MetricSettings:
    """optimize.metric as params.yaml gives it, read the way the optimize stage reads it."""
    return Settings.from_params({"optimize": {"metric": metric}}).optimize.metric


def test_the_metric_ranks_answers_by_how_right_they_are(completeness):
    metric = make_metric(*completeness, metric_settings({}))
    perfect = score(metric, LABEL)
    one_missing_found = score(metric, {**LABEL, "missing_requirements":
                                       LABEL["missing_requirements"][:1]})
    wrong_verdict = score(metric, {**LABEL, "is_complete": True})
    nothing = score(metric, {})
    assert perfect == pytest.approx(1.0)
    assert 1.0 > one_missing_found > wrong_verdict > nothing
    assert nothing == 0.0
    # Bootstrapping asks a yes/no question: pass at pass_threshold (0.7 by default).
    assert score(metric, LABEL, trace=[]) is True
    assert score(metric, {"is_complete": True}, trace=[]) is False


def test_metric_options_weigh_and_exclude_fields(completeness):
    verdict_only = make_metric(*completeness, metric_settings({
        "exclude": ["missing_requirements", "explanation"]}))
    assert score(verdict_only, {"is_complete": False}) == 1.0
    assert score(verdict_only, {"is_complete": True}) == 0.0
    weighted = make_metric(*completeness, metric_settings({"weights": {"is_complete": 8.0}}))
    assert score(weighted, {"is_complete": False}) == pytest.approx(0.8)
    with pytest.raises(ConfigError, match='unknown output field "verdict"'):
        make_metric(*completeness, metric_settings({"weights": {"verdict": 1.0}}))


def test_rule_score_is_lower_for_each_kind_of_bad_example():
    good = {"inputs": {"question": "Why does the nightly export time out?"},
            "outputs": {"answer": "The export query scans the whole orders table.",
                        "steps": ["Add an index on created_at", "Page the query"]}}
    assert rule_score(good) == 1.0
    bad = {
        "placeholder text": {**good, "outputs": {**good["outputs"], "answer": "TODO"}},
        "an output copying an input": {**good, "outputs": {
            **good["outputs"], "answer": good["inputs"]["question"]}},
        "an empty list item": {**good, "outputs": {**good["outputs"], "steps": ["", "x y"]}},
        "a long one-word text": {**good, "outputs": {**good["outputs"],
                                                     "answer": "x" * 60}},
    }
    for kind, record in bad.items():
        assert rule_score(record) < 1.0, kind


def test_rule_score_fails_real_examples_broken_each_way(completeness):
    """A curated example of the fixture that passes all four rules, broken each way, loses
    exactly that rule's quarter, in rule_score and in the quality score the validate stage
    compares with quality.reject_below."""
    import orjson

    from tests.conftest import FIXTURE_PROJECT
    from tf_cli.quality import score as quality_score

    _, signature = completeness
    path = FIXTURE_PROJECT / "datasets" / "validate_completeness" / "examples.jsonl"
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    record = next(r for r in records
                  if r["outputs"]["missing_requirements"] and rule_score(r) == 1.0)
    outputs = record["outputs"]
    broken = {
        "placeholder text": {"explanation": "TODO: explain which requirement is missing"},
        "an output copying an input": {"explanation": record["inputs"]["implementation"]},
        "an empty list item": {"missing_requirements": [*outputs["missing_requirements"], ""]},
        "a long one-word text": {"explanation": "Missing" + "-" * 60},
    }
    for kind, change in broken.items():
        bad = {**record, "outputs": {**outputs, **change}}
        assert rule_score(bad) == pytest.approx(0.75), kind
        assert quality_score(bad, signature)["score"] == pytest.approx(0.75), kind
    everything = {**record, "outputs": {**outputs, "explanation": "x" * 60 + " TODO",
                                        "missing_requirements": [""]}}
    assert rule_score(everything) < 0.75
