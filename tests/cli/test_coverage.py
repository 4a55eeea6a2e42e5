"""Coverage requirements through `tf check` and `tf coverage`: each kind, both outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_tf
from tf_cli.records import write_records

INTENT = "datasets/validate_intent/examples.jsonl"


def intent_example(i: int, *, matches=True, difficulty="easy", category="api",
                   source="manual") -> dict:
    return {
        "id": f"01JDQ7Z8K3M2N4P5Q6R7S{i:05d}",
        "inputs": {"user_intent": f"Intent number {i}", "implementation": f"def f{i}(): ..."},
        "outputs": {"intent_matches": matches,
                    "explanation": f"Explanation {i} that is long enough to pass the rule."},
        "metadata": {"source": source, "difficulty": difficulty, "category": category,
                     "created_at": "2026-11-20T10:00:00Z"},
    }


def setup(project: Path, requirements: list[str], examples: list[dict], extra: str = "",
          min_examples: int = 1) -> None:
    """params.yaml with validate_intent's dimensions and the given requirement lines."""
    listed = "\n".join(f"        - {r}" for r in requirements) or "        []"
    (project / "params.yaml").write_text(f"""\
coverage:
  signatures:
    validate_intent:
      min_examples: {min_examples}
      target_examples: 10
      dimensions:
        difficulty: {{sql: metadata.difficulty, buckets: [easy, medium, hard]}}
        category: metadata.category
        verdict: "CASE WHEN outputs.intent_matches THEN 'matches' ELSE 'diverges' END"
{extra}      requirements:
{listed}
""")
    write_records(project / INTENT, examples)


def check(project: Path):
    return run_tf("check", cwd=project)


MIXED = [intent_example(1, difficulty="easy", category="api"),
         intent_example(2, difficulty="easy", category="ui", matches=False),
         intent_example(3, difficulty="medium", category="database"),
         intent_example(4, difficulty="hard", category="api", source="synthetic")]

CASES = [
    # (requirement, passes on MIXED, words the failure names)
    ("{dimension: difficulty, bucket: easy, min: 2, level: error}", True, None),
    ("{dimension: difficulty, bucket: hard, min: 2, level: error}", False,
     "difficulty = hard: at least 2: 1 in difficulty = hard"),
    ("{dimension: difficulty, max_share: 0.5, level: error}", True, None),
    ("{dimension: category, max_share: 0.4, level: error}", False,
     "category: any bucket at most 40%: category = api is 50% (2 of 4)"),
    ("{dimension: verdict, bucket: diverges, max_share: 0.25, level: error}", True, None),
    ("{dimension: verdict, bucket: matches, max_share: 0.5, level: error}", False,
     "verdict = matches at most 50%: verdict = matches is 75% (3 of 4)"),
    ("{dimension: category, min_distinct: 3, level: error}", True, None),
    ("{dimension: category, min_distinct: 4, level: error}", False,
     "category: at least 4 distinct: 3 distinct: api, database, ui"),
    ("{grid: [verdict, difficulty], min_per_cell: 1, level: error}", False,
     "verdict x difficulty: at least 1 per cell: 4 of 6 cells filled"),
    ("{where: \"metadata.category = 'api'\", min: 2, level: error}", True, None),
    ("{where: \"metadata.category = 'api'\", min: 3, level: error, name: api examples}", False,
     "api examples: 2 match"),
    ("{synthetic_max_share: 0.25, level: error}", True, None),
    ("{synthetic_max_share: 0.2, level: error}", False,
     "synthetic share at most 20%: synthetic is 25% (1 of 4)"),
]


@pytest.mark.parametrize(("requirement", "passes", "named"), CASES)
def test_each_requirement_kind_passes_or_fails_tf_check(project, requirement, passes, named):
    setup(project, [requirement], MIXED)
    result = check(project)
    if passes:
        assert result.exit_code == 0, result.stdout
        assert "FAIL" not in result.stdout
    else:
        assert result.exit_code == 1
        assert "FAIL validate_intent" in result.stdout
        assert f"FAIL {named}" in result.stdout


@pytest.mark.parametrize(("requirement", "passes", "named"),
                         [c for c in CASES if not c[1]])
def test_a_warn_requirement_is_reported_but_passes(project, requirement, passes, named):
    setup(project, [requirement.replace("level: error", "level: warn")], MIXED)
    result = check(project)
    assert result.exit_code == 0
    assert f"warn {named}" in result.stdout


def test_min_examples_gates_and_target_is_only_a_gap(project):
    setup(project, [], MIXED, min_examples=5)
    result = check(project)
    assert result.exit_code == 1
    assert "FAIL at least 5 examples: 4 examples" in result.stdout
    setup(project, [], MIXED, min_examples=4)
    passed = check(project)
    assert passed.exit_code == 0
    coverage = json.loads(run_tf("coverage", "--format", "json", cwd=project).stdout)
    gaps = coverage["signatures"][-1]["gaps"]
    assert {"kind": "total", "need": 6, "have": 4, "level": "warn",
            "requirement": "target of 10 examples"} in gaps


def test_validation_problems_fail_check_too(project):
    setup(project, [], MIXED)
    with open(project / INTENT, "ab") as f:
        f.write(b"{not json}\n")
    result = check(project)
    assert result.exit_code == 1
    assert f"{INTENT}:5: column 2: invalid JSON" in result.stdout


def test_gaps_of_a_grid_name_the_empty_cells_most_needed_first(project):
    setup(project, ["{grid: [verdict, difficulty], min_per_cell: 2, level: warn}"], MIXED)
    result = run_tf("coverage", "--gaps", "--format", "json", cwd=project)
    entry = json.loads(result.stdout)["signatures"][-1]
    assert entry["signature"] == "validate_intent" and "dimensions" not in entry
    cells = [(g["cell"], g["need"]) for g in entry["gaps"] if g["kind"] == "cell"]
    assert cells[:2] == [({"verdict": "diverges", "difficulty": "medium"}, 2),
                         ({"verdict": "diverges", "difficulty": "hard"}, 2)]
    assert len(cells) == 6


@pytest.mark.parametrize(("params", "message"), [
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      colour: blue\n",
     'params.yaml:6: $.coverage.signatures.validate_intent.colour: unknown key "colour"'),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      requirements:\n"
     "        - {dimension: difficulty, min_distinct: 2, level: fatal}\n",
     'params.yaml:7: $.coverage.signatures.validate_intent.requirements[0].level: "fatal" is '
     'not one of "error" or "warn"'),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      requirements:\n        - dimension: difficulty\n"
     "          max_share: 1.6\n          level: error\n",
     "params.yaml:8: $.coverage.signatures.validate_intent.requirements[0].max_share: 1.6 is "
     "greater than the maximum of 1"),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      requirements:\n"
     "        - {dimension: difficulty, max_share: 0.5, min: 3, level: warn}\n",
     'params.yaml:7: $.coverage.signatures.validate_intent.requirements[0].min: unknown key '
     '"min" for a requirement with dimension, max_share'),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      requirements:\n"
     "        - {grid: [difficulty], min_per_cell: 1}\n",
     "params.yaml:7: $.coverage.signatures.validate_intent.requirements[0]: \"level\" is a "
     "required property"),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      requirements:\n"
     "        - {dimension: difficulty, level: warn}\n",
     "params.yaml:7: $.coverage.signatures.validate_intent.requirements[0]: not a valid "
     "requirement: give a level (error or warn) and exactly one of {dimension, bucket, min}"),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      dimensions:\n        size: len(outputs.nope)\n",
     "params.yaml:7: $.coverage.signatures.validate_intent.dimensions.size: validate_intent: "
     "dimension size: DuckDB rejects the SQL: Binder Error"),
    ("coverage:\n  defaults:\n    dimensions:\n      size:\n        buckets: [a]\n"
     "        sql: len(outputs.nope)\n",
     "params.yaml:6: $.coverage.defaults.dimensions.size.sql: extract_requirements: dimension "
     "size: DuckDB rejects the SQL: Binder Error"),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      requirements:\n        - {level: warn, min: 1,\n"
     "           where: outputs.nope = 1}\n",
     "params.yaml:8: $.coverage.signatures.validate_intent.requirements[0].where: "
     "validate_intent: where 'outputs.nope = 1': DuckDB rejects the SQL: Binder Error"),
    ("coverage:\n  signatures:\n    validate_intent:\n      min_examples: 1\n"
     "      target_examples: 2\n      requirements:\n"
     "        - {dimension: colour, min_distinct: 2, level: warn}\n",
     "params.yaml:7: $.coverage.signatures.validate_intent.requirements[0]: validate_intent: "
     'requirement "colour: at least 2 distinct" uses dimension "colour", which is not declared'),
    ("coverage:\n  signatures:\n    summarize: {min_examples: 1, target_examples: 2}\n",
     'coverage for unknown signature "summarize"'),
    ("coverage: [1\n", "params.yaml:2: invalid YAML"),
])
def test_bad_params_are_configuration_errors_naming_the_place(project, params, message):
    write_records(project / INTENT, MIXED)
    (project / "params.yaml").write_text(params)
    for command in (("check",), ("coverage",)):
        result = run_tf(*command, cwd=project)
        assert result.exit_code == 2
        assert message in " ".join(result.stderr.split())


def test_fixture_data_passes_check_and_breaking_it_fails(fixture_project: Path):
    assert check(fixture_project).exit_code == 0

    # Below min_examples: keep 10 of validate_completeness's examples.
    path = fixture_project / "datasets/validate_completeness/examples.jsonl"
    original = path.read_bytes()
    path.write_bytes(b"".join(original.splitlines(keepends=True)[:10]))
    result = check(fixture_project)
    assert result.exit_code == 1
    assert "FAIL validate_completeness" in result.stdout
    assert "FAIL at least 20 examples: 10 examples" in result.stdout
    path.write_bytes(original)

    # Break a max-share requirement: most support_response examples become baseline.
    path = fixture_project / "datasets/support_response/examples.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records[:8]:
        record["inputs"]["complexity_type"] = "baseline"
    write_records(path, records)
    result = check(fixture_project)
    assert result.exit_code == 1
    assert "FAIL complexity = baseline at most 30%: complexity = baseline is" in result.stdout


def test_gaps_on_support_response_name_concrete_cells(fixture_project):
    result = run_tf("coverage", "--signature", "support_response", "--gaps", "--format", "json",
                    cwd=fixture_project)
    gaps = json.loads(result.stdout)["signatures"][0]["gaps"]
    cells = [g["cell"] for g in gaps if g["kind"] == "cell"]
    assert cells and all(set(c) in ({"capacity", "complexity"}, {"capacity", "authenticity"})
                         for c in cells)
    assert all(g["need"] >= 1 and g["have"] == 0 for g in gaps if g["kind"] == "cell")
    table = run_tf("coverage", "--signature", "support_response", "--gaps",
                   cwd=fixture_project).stdout
    first = cells[0]
    assert f"capacity = {first['capacity']}" in table


def test_check_markdown_is_a_pr_summary(project):
    setup(project, ["{dimension: category, min_distinct: 4, level: error}",
                    "{grid: [verdict, difficulty], min_per_cell: 1, level: warn}"], MIXED)
    result = run_tf("check", "--format", "markdown", cwd=project)
    assert result.exit_code == 1
    assert result.stdout.startswith("## tf check: ❌ failed")
    assert "| validate_intent | 4 | 10 | no | category: at least 4 distinct |" in result.stdout
    assert "| category: at least 4 distinct | error | 3 distinct: api, database, ui | ❌ |" \
        in result.stdout


def test_status_recommends_concrete_next_steps(project):
    setup(project, ["{dimension: difficulty, bucket: hard, min: 3, level: warn}"], MIXED)
    result = run_tf("status", cwd=project)
    assert result.exit_code == 0
    assert "add 2 more examples with difficulty = hard to validate_intent" in result.stdout
    assert "validate_intent" in result.stdout and "4/10" in result.stdout


def test_ready_means_what_tf_check_asks_not_only_min_examples(project):
    """Enough examples, but an error-level requirement fails: tf check fails, so no view of
    coverage may call the signature ready."""
    setup(project, ["{dimension: difficulty, bucket: hard, min: 3, level: error}"], MIXED)
    assert check(project).exit_code == 1
    status = run_tf("status", "-s", "validate_intent", cwd=project)
    assert "no (1 error failing)" in status.stdout and " yes " not in status.stdout
    data = json.loads(run_tf("coverage", "-s", "validate_intent", "-f", "json",
                             cwd=project).stdout)
    assert data["signatures"][0]["ready"] is False
    markdown = run_tf("coverage", "-s", "validate_intent", "-f", "markdown", cwd=project).stdout
    assert "(not ready: 1 error failing)" in markdown
    setup(project, [], MIXED, min_examples=5)  # too few examples says so instead
    assert "no (4 of min 5)" in run_tf("status", "-s", "validate_intent", cwd=project).stdout
    setup(project, ["{dimension: difficulty, bucket: hard, min: 3, level: warn}"], MIXED)
    assert json.loads(run_tf("coverage", "-s", "validate_intent", "-f", "json",
                             cwd=project).stdout)["signatures"][0]["ready"] is True


def test_sample_is_seeded_filtered_and_shows_where_each_example_is(project):
    examples = [intent_example(i, difficulty="hard" if i % 2 else "easy") for i in range(40)]
    setup(project, [], examples)
    first = run_tf("sample", "-s", "validate_intent", "-n", "3", "--seed", "5",
                   "--where", "metadata.difficulty = 'hard'", cwd=project)
    again = run_tf("sample", "-s", "validate_intent", "-n", "3", "--seed", "5",
                   "--where", "metadata.difficulty = 'hard'", cwd=project)
    other = run_tf("sample", "-s", "validate_intent", "-n", "3", "--seed", "6",
                   "--where", "metadata.difficulty = 'hard'", cwd=project)
    assert first.exit_code == 0 and first.stdout == again.stdout != other.stdout
    assert first.stdout.count(f"# {INTENT}:") == 3
    assert first.stdout.count('"difficulty": "hard"') == 3
    bad = run_tf("sample", "-s", "validate_intent", "--where", "nope(", cwd=project)
    assert bad.exit_code == 2 and "--where: DuckDB rejects the SQL" in bad.stderr


def test_coverage_yaml_holds_the_requirements_and_its_problems_name_it(fixture_project: Path):
    """coverage.yaml is params' coverage section in a file of its own (dvc exp run -S never
    rewrites it); a problem in it names coverage.yaml, its line and the key inside it."""
    from tests.conftest import move_coverage_to_its_file

    before = run_tf("coverage", "-f", "json", cwd=fixture_project)
    move_coverage_to_its_file(fixture_project)
    assert "\ncoverage:" not in (fixture_project / "params.yaml").read_text()
    after = run_tf("coverage", "-f", "json", cwd=fixture_project)
    assert after.exit_code == before.exit_code and after.stdout == before.stdout

    path = fixture_project / "coverage.yaml"
    text = path.read_text()
    lines = text.splitlines()
    at = lines.index("  validate_intent:") + 2  # its target_examples
    assert lines[at].strip().startswith("target_examples:")
    lines[at] = "    target_examples: many"
    path.write_text("\n".join(lines) + "\n")
    bad = run_tf("check", cwd=fixture_project)
    assert bad.exit_code == 2
    assert f"coverage.yaml:{at + 1}: $.signatures.validate_intent.target_examples:" in bad.stderr

    path.write_text(text.replace("sql: metadata.difficulty", "sql: \"(SELECT 1)\"", 1))
    unsafe = run_tf("check", cwd=fixture_project)
    assert unsafe.exit_code == 2 and "coverage.yaml:" in unsafe.stderr
    assert "a subquery (SELECT ...) is not allowed" in unsafe.stderr

    path.write_text(text)
    params = fixture_project / "params.yaml"
    params.write_text(params.read_text() + "coverage:\n  diversity_sample: 100\n")
    both = run_tf("check", cwd=fixture_project)
    assert both.exit_code == 2 and "keep the requirements in coverage.yaml only" in both.stderr
