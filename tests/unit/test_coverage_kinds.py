"""Each kind of coverage requirement, in process over real DuckDB: params.yaml parses to its
class, and its evaluate passes on data that meets it and fails, with typed gaps, on data
that does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_coverage import intent_example
from tf_cli.coverage import SignatureCoverage, measure
from tf_cli.coverage.gaps import (
    NEW_BUCKET,
    BucketGap,
    CellGap,
    Gap,
    NewBucketGap,
    ShareGap,
    SyntheticGap,
    TargetGap,
    TotalGap,
    WhereGap,
)
from tf_cli.coverage.requirements import (
    BucketMin,
    Grid,
    MaxShare,
    MinDistinct,
    MinExamples,
    Requirement,
    SyntheticMaxShare,
    WhereMin,
    from_params,
)
from tf_cli.project import Project
from tf_cli.records import write_records
from tf_cli.render import coverage as render

SIGNATURE = "validate_intent"


example = intent_example  # the same examples as tests/cli/test_coverage.py


# 4 examples: difficulty easy 2, medium 1, hard 1; category api 2, ui 1, database 1;
# verdict matches 3, diverges 1; one synthetic.
MIXED = [example(1, difficulty="easy", category="api"),
         example(2, difficulty="easy", category="ui", matches=False),
         example(3, difficulty="medium", category="database"),
         example(4, difficulty="hard", category="api", source="synthetic")]
# Every cell of verdict x difficulty once.
FULL = [example(i, difficulty=d, matches=m)
        for i, (d, m) in enumerate([(d, m) for d in ("easy", "medium", "hard")
                                    for m in (True, False)], 1)]


def coverage_of(root: Path, requirements: list[str], examples: list[dict],
                min_examples: int = 1, target: int = 0) -> SignatureCoverage:
    listed = "\n".join(f"        - {r}" for r in requirements) or "        []"
    (root / "params.yaml").write_text(f"""\
coverage:
  signatures:
    {SIGNATURE}:
      min_examples: {min_examples}
      target_examples: {target}
      dimensions:
        difficulty: {{sql: metadata.difficulty, buckets: [easy, medium, hard]}}
        category: metadata.category
        verdict: "CASE WHEN outputs.intent_matches THEN 'matches' ELSE 'diverges' END"
        verdict3:
          sql: "CASE WHEN outputs.intent_matches THEN 'matches' ELSE 'diverges' END"
          buckets: [matches, diverges, unsure]
        api_only: "CASE WHEN metadata.category = 'api' THEN 'api' END"
      requirements:
{listed}
""")
    write_records(root / f"datasets/{SIGNATURE}/examples.jsonl", examples)
    return measure(Project(root), [SIGNATURE], diversity=False)[0]


def gaps_of(cov: SignatureCoverage, label: str) -> list[Gap]:
    return [g for g in cov.gaps if g.requirement == label]


CASES = [
    # (requirement, data, class, passed, actual, detail, the requirement's gaps)
    ("{dimension: difficulty, bucket: easy, min: 2, level: error}", MIXED, BucketMin,
     True, 2, "2 in difficulty = easy", []),
    ("{dimension: difficulty, bucket: hard, min: 3, level: error}", MIXED, BucketMin,
     False, 1, "1 in difficulty = hard",
     [BucketGap(2, 1, "error", "difficulty = hard: at least 3", {"difficulty": "hard"})]),
    ("{dimension: difficulty, max_share: 0.5, level: error}", MIXED, MaxShare,
     True, 0.5, "difficulty = easy is 50% (2 of 4)", []),
    ("{dimension: category, max_share: 0.4, level: warn}", MIXED, MaxShare,
     False, 0.5, "category = api is 50% (2 of 4)",
     [ShareGap(1, 2, "warn", "category: any bucket at most 40%", {"category": "api"})]),
    ("{dimension: verdict, bucket: diverges, max_share: 0.25, level: error}", MIXED, MaxShare,
     True, 0.25, "verdict = diverges is 25% (1 of 4)", []),
    ("{dimension: verdict, bucket: matches, max_share: 0.5, level: error}", MIXED, MaxShare,
     False, 0.75, "verdict = matches is 75% (3 of 4)",
     [ShareGap(2, 1, "error", "verdict = matches at most 50%", {"verdict": "matches"})]),
    ("{dimension: category, min_distinct: 3, level: error}", MIXED, MinDistinct,
     True, 3, "3 distinct: api, database, ui", []),
    # every declared bucket is filled: the one missing is a bucket still to be named
    ("{dimension: difficulty, min_distinct: 4, level: error}", MIXED, MinDistinct,
     False, 3, "3 distinct: easy, medium, hard",
     [NewBucketGap(1, 3, "error", "difficulty: at least 4 distinct", "difficulty")]),
    # the empty declared bucket first, then a new one
    ("{dimension: verdict3, min_distinct: 4, level: warn}", MIXED, MinDistinct,
     False, 2, "2 distinct: matches, diverges",
     [BucketGap(1, 0, "warn", "verdict3: at least 4 distinct", {"verdict3": "unsure"}),
      NewBucketGap(1, 2, "warn", "verdict3: at least 4 distinct", "verdict3")]),
    # NULL is no bucket
    ("{dimension: api_only, min_distinct: 2, level: warn}", MIXED, MinDistinct,
     False, 1, "1 distinct: api",
     [NewBucketGap(1, 1, "warn", "api_only: at least 2 distinct", "api_only")]),
    ("{grid: [verdict, difficulty], min_per_cell: 1, level: error}", FULL, Grid,
     True, 6, "6 of 6 cells filled", []),
    ("{grid: [verdict3, difficulty], min_per_cell: 1, level: warn, name: cells}", MIXED, Grid,
     False, 4, "4 of 9 cells filled",
     [CellGap(1, 0, "warn", "cells", {"verdict3": v, "difficulty": d})
      for v, d in [("diverges", "medium"), ("diverges", "hard"), ("unsure", "easy"),
                   ("unsure", "medium"), ("unsure", "hard")]]),
    ("{where: \"metadata.category = 'api'\", min: 2, level: error}", MIXED, WhereMin,
     True, 2, "2 match", []),
    ("{where: \"metadata.category = 'api'\", min: 3, level: error, name: api examples}",
     MIXED, WhereMin, False, 2, "2 match",
     [WhereGap(1, 2, "error", "api examples", "metadata.category = 'api'")]),
    ("{synthetic_max_share: 0.25, level: error}", MIXED, SyntheticMaxShare,
     True, 0.25, "synthetic is 25% (1 of 4)", []),
    ("{synthetic_max_share: 0.2, level: error}", MIXED, SyntheticMaxShare,
     False, 0.25, "synthetic is 25% (1 of 4)",
     [SyntheticGap(1, 3, "error", "synthetic share at most 20%", {"source": "synthetic"})]),
]


@pytest.mark.parametrize(("raw", "data", "kind", "passed", "actual", "detail", "gaps"), CASES)
def test_each_kind_evaluates_over_duckdb(project, raw, data, kind, passed, actual, detail,
                                         gaps):
    cov = coverage_of(project, [raw], data)
    assert isinstance(cov.requirements[0].requirement, MinExamples)
    result = cov.requirements[1]
    assert type(result.requirement) is kind
    assert (result.passed, result.actual, result.detail) == (passed, actual, detail)
    assert gaps_of(cov, result.label) == gaps


def test_min_examples_gates_and_the_target_is_a_warning_gap(project):
    failing = coverage_of(project, [], MIXED, min_examples=5, target=10)
    gate = failing.requirements[0]
    assert isinstance(gate.requirement, MinExamples)
    assert (gate.passed, gate.actual, gate.label) == (False, 4, "at least 5 examples")
    assert failing.gaps == [TotalGap(1, 4, "error", "at least 5 examples"),
                            TargetGap(6, 4, "warn", "target of 10 examples")]
    passing = coverage_of(project, [], MIXED, min_examples=4, target=4)
    assert passing.requirements[0].passed and passing.gaps == []


@pytest.mark.parametrize(("raw", "kind", "label"), [
    ({"dimension": "d", "bucket": "b", "min": 2, "level": "warn"}, BucketMin,
     "d = b: at least 2"),
    ({"dimension": "d", "max_share": 0.3, "level": "warn"}, MaxShare, "d: any bucket at most 30%"),
    ({"dimension": "d", "bucket": "b", "max_share": 0.3, "level": "warn"}, MaxShare,
     "d = b at most 30%"),
    ({"dimension": "d", "min_distinct": 2, "level": "warn"}, MinDistinct,
     "d: at least 2 distinct"),
    ({"grid": ["a", "b", "c"], "min_per_cell": 1, "level": "warn"}, Grid,
     "a x b x c: at least 1 per cell"),
    ({"where": "metadata.x", "min": 4, "level": "warn"}, WhereMin, "where metadata.x: at least 4"),
    ({"synthetic_max_share": 0.5, "level": "error"}, SyntheticMaxShare,
     "synthetic share at most 50%"),
])
def test_params_entries_parse_to_their_kind_and_a_name_replaces_the_label(raw, kind, label):
    requirement: Requirement = from_params(raw)
    assert type(requirement) is kind and requirement.label == label
    assert requirement.level == raw["level"]
    assert from_params({**raw, "name": "mine"}).label == "mine"


def test_json_keeps_the_kind_tags_and_the_place_of_each_gap(project):
    cov = coverage_of(project, ["{dimension: verdict3, min_distinct: 4, level: warn}",
                                "{synthetic_max_share: 0.2, level: error}"], MIXED)
    data = cov.to_json()
    assert [r["kind"] for r in data["requirements"]] == ["min_examples", "min_distinct",
                                                         "synthetic_share"]
    assert data["requirements"][1]["dimension"] == "verdict3"
    assert data["requirements"][1]["bucket"] is None
    assert data["gaps"] == [
        {"kind": "synthetic", "need": 1, "have": 3, "level": "error",
         "requirement": "synthetic share at most 20%", "avoid": {"source": "synthetic"}},
        {"kind": "bucket", "need": 1, "have": 0, "level": "warn",
         "requirement": "verdict3: at least 4 distinct", "cell": {"verdict3": "unsure"}},
        {"kind": "distinct", "need": 1, "have": 2, "level": "warn",
         "requirement": "verdict3: at least 4 distinct", "cell": {"verdict3": NEW_BUCKET}}]
    assert [g.place for g in cov.gaps] == [
        "outside source = synthetic", "verdict3 = unsure", f"verdict3 = {NEW_BUCKET}"]


def test_generation_plans_known_cells_only(project):
    from tf_cli.generate import plan_cells

    cov = coverage_of(project, ["{dimension: verdict3, min_distinct: 4, level: warn}",
                                "{dimension: difficulty, bucket: hard, min: 3, level: warn}"],
                      MIXED)
    spec = Project(project).signature(SIGNATURE).coverage
    assert plan_cells(spec, cov.gaps, 10, fill_gaps=True) == [
        {"difficulty": "hard"}, {"difficulty": "hard"}, {"verdict3": "unsure"}]


def test_render_returns_what_the_command_prints(project, capsys):
    from rich.table import Table

    cov = coverage_of(project, ["{dimension: difficulty, bucket: hard, min: 3, level: warn}"],
                      MIXED)
    shown = render.tables([cov], gaps_only=False)
    gaps = render.tables([cov], gaps_only=True)
    text = render.markdown([cov])
    assert capsys.readouterr() == ("", "")
    assert [type(s).__name__ for s in shown] == ["Table", "Table", "Text"]
    assert len(gaps) == 1 and isinstance(gaps[0], Table)
    assert "| 2 | difficulty = hard | 1 | warn |" in text
