"""One surface for every command: the same flags (-s/--signature NAME, -f/--format with the
same names, -n/--count N), the same refusal of an unknown signature, readable usage
lines, and human output without Python reprs or "1 examples"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_PARAMS, run_tf
from tf_cli.errors import UsageError
from tf_cli.records import write_records

SIG = "validate_intent"

COMMANDS = ("validate", "fmt", "check", "coverage", "status", "sample", "add-example",
            "import", "generate", "bootstrap", "review", "diff", "log", "check-merge")

# Every command that takes a signature, with what else it needs to get as far as using it.
WITH_SIGNATURE = [
    ["validate"], ["validate", "elsewhere.jsonl"], ["coverage"], ["status"], ["sample"],
    ["add-example", "--from-json", "missing.json"], ["import", "missing.csv"], ["generate"],
    ["bootstrap"], ["review"], ["diff"], ["log"],
]


def example(i: int, source: str = "manual") -> dict:
    return {"id": f"01JDQ7Z8K3M2N4P5Q6R7S{i:05d}",
            "inputs": {"user_intent": f"Intent {i}", "implementation": f"code {i}"},
            "outputs": {"intent_matches": True, "explanation":
                        f"Explanation number {i}, long enough for the rule to accept it."},
            "metadata": {"source": source, "difficulty": "easy", "category": "api",
                         "created_at": "2026-11-20T10:00:00Z"}}


@pytest.mark.parametrize("command", WITH_SIGNATURE, ids=" ".join)
def test_every_command_refuses_an_unknown_signature_the_same_way(tf, command):
    # An empty project that is no Git repository: the signature is refused before
    # anything else is looked at.
    result = tf(*command, "-s", "nope")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert 'unknown signature "nope"' in result.stderr
    assert "known signatures: extract_requirements, " in result.stderr
    assert result.stdout == ""


def test_load_examples_and_load_program_refuse_an_unknown_signature(project: Path):
    import tf_cli

    for load in (tf_cli.load_examples, tf_cli.load_program):
        with pytest.raises(UsageError, match='unknown signature "nope"') as raised:
            load("nope", project=project)
        assert "dvc repro" not in str(raised.value)
        assert "known signatures: extract_requirements, " in str(raised.value)


@pytest.mark.parametrize("command", COMMANDS)
def test_usage_shows_readable_metavars(tf, command):
    result = tf(command, "--help")
    assert result.exit_code == 0, result.stderr
    shown = result.stdout
    # Typer's type labels (<list[Path]>, <str>, <int range>, <path>) and {braces} are not
    # for people; choices (<text|json>) are.
    assert not re.findall(r"<(?:list\[|str>|int|path>|directory>)|\{", shown), shown
    usage = shown.splitlines()[0]
    assert usage == usage.upper().replace("USAGE: TF", "Usage: tf").replace(
        command.upper(), command), usage  # metavars in capitals: FILE, [PATH]...
    if "--signature" in shown:
        assert "-s, --signature NAME" in shown
    if "--format" in shown:
        assert re.search(r"-f, --format <text\|(markdown\|)?json>", shown), shown
    if "--count" in shown or re.search(r"\s-n\b", shown):
        assert "-n, --count N" in shown


def test_readable_usage_lines():
    usages = {command: run_tf(command, "--help", cwd=Path.cwd()).stdout.splitlines()[0]
              for command in ("validate", "import", "diff", "check-merge")}
    assert usages == {"validate": "Usage: tf validate [OPTIONS] [PATH]...",
                      "import": "Usage: tf import [OPTIONS] FILE",
                      "diff": "Usage: tf diff [OPTIONS] [BASE] [HEAD]",
                      "check-merge": "Usage: tf check-merge [OPTIONS] [REV]"}


def test_counts_are_n_count_everywhere(project: Path):
    (project / "params.yaml").write_bytes(FIXTURE_PARAMS.read_bytes())
    write_records(project / "datasets" / SIG / "examples.jsonl",
                  [example(i) for i in range(3)])
    for flag in ("-n", "--count"):
        result = run_tf("sample", "-s", SIG, flag, "1", cwd=project)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.count("# datasets/") == 1
    for command in ("log", "bootstrap", "generate", "sample"):
        shown = run_tf(command, "--help", cwd=project).stdout
        assert "-n, --count N" in shown and "--limit" not in shown


def test_output_formats_have_the_same_names(project: Path):
    (project / "params.yaml").write_bytes(FIXTURE_PARAMS.read_bytes())
    write_records(project / "datasets" / SIG / "examples.jsonl", [example(1)])
    for command in (["coverage"], ["status"], ["validate"], ["check"]):
        for fmt in ("text", "json"):
            result = run_tf(*command, "-f", fmt, cwd=project)
            assert result.exit_code in (0, 1), (command, fmt, result.stderr)
        assert json.loads(run_tf(*command, "-f", "json", cwd=project).stdout)
    text = run_tf("coverage", "-s", SIG, "-f", "text", cwd=project)
    assert f"{SIG}: 1 example (min" in text.stdout
    table = run_tf("coverage", "-f", "table", cwd=project)
    assert table.exit_code == 2 and "'table' is not one of 'text', 'markdown', 'json'" in \
        table.stderr


def test_status_takes_a_signature_and_json(project: Path):
    (project / "params.yaml").write_bytes(FIXTURE_PARAMS.read_bytes())
    write_records(project / "datasets" / SIG / "examples.jsonl", [example(1)])
    one = run_tf("status", "-s", SIG, cwd=project)
    assert one.exit_code == 0, one.stderr
    assert SIG in one.stdout and "validate_completeness" not in one.stdout
    data = json.loads(run_tf("status", "--signature", SIG, "--format", "json",
                             cwd=project).stdout)
    coverage = json.loads(run_tf("coverage", "-s", SIG, "-f", "json", cwd=project).stdout)
    assert {k: v for k, v in data.items() if k != "effect"} == coverage
    assert [e["signature"] for e in data["effect"]] == [SIG]  # what the effect stage measured
    assert [s["signature"] for s in data["signatures"]] == [SIG]
    assert data["signatures"][0]["examples"] == 1


def test_import_reads_its_input_format_from_input_format(project: Path):
    (project / "rows").write_text("user_intent,implementation,intent_matches,explanation,"
                                  "difficulty,category\nKeep users logged in,cookie max_age=30d,"
                                  "true,The cookie lives thirty days as the user asked.,easy,"
                                  "authentication\n")
    unknown = run_tf("import", "rows", "-s", SIG, cwd=project)
    assert unknown.exit_code == 2 and "pass --input-format csv|tsv|json|jsonl|yaml" in \
        unknown.stderr
    result = run_tf("import", "rows", "-s", SIG, "--input-format", "csv", cwd=project)
    assert result.exit_code == 0, result.stderr
    assert "1 row: 1 imported into" in result.stderr
    bad = run_tf("import", "rows", "-s", SIG, "--input-format", "xml", cwd=project)
    assert bad.exit_code == 2 and "'xml' is not one of 'csv'" in bad.stderr


def test_counts_in_words(project: Path):
    (project / "params.yaml").write_bytes(FIXTURE_PARAMS.read_bytes())
    write_records(project / "datasets" / SIG / "examples.jsonl", [example(1)])
    validated = run_tf("validate", f"datasets/{SIG}/examples.jsonl", cwd=project)
    assert "ok: 1 example in 1 file of 1 signature" in validated.stderr
    sampled = run_tf("sample", "-s", SIG, "-n", "1", cwd=project)
    assert "1 example (seed 0)" in sampled.stderr
    checked = run_tf("check", cwd=project)
    assert f"{SIG}: 1 example (min" in checked.stdout
    assert "FAIL at least 20 examples: 1 example" in checked.stdout
    assert re.search(r"0 validation problems, \d+ error requirements? failed, "
                     r"\d+ warnings?", checked.stderr), checked.stderr
    assert not re.search(r"\b1 [a-z ]*(examples|problems|files|signatures|warnings|"
                         r"requirements)\b", validated.stderr + sampled.stderr +
                         checked.stdout + checked.stderr)


def test_diff_shows_counts_by_source_in_words(project: Path):
    from tests.cli.test_diff import git

    (project / "params.yaml").write_bytes(FIXTURE_PARAMS.read_bytes())
    dataset = project / "datasets" / SIG
    write_records(dataset / "examples.jsonl", [example(1)])
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "one")
    write_records(dataset / "synthetic.jsonl", [example(2, "synthetic"), example(3, "synthetic")])
    result = run_tf("diff", "HEAD", cwd=project)
    assert result.exit_code == 0, result.stderr
    assert f"{SIG}: 1 -> 3 examples" in result.stdout
    assert "by source: manual 1 -> manual 1, synthetic 2" in result.stdout
    assert "{" not in result.stdout and "None" not in result.stdout


def test_generate_and_bootstrap_summaries_have_no_reprs():
    from collections import Counter

    from tf_cli.generate import GenerateSummary
    from tf_cli.render.generate import bootstrap_lines, summary_lines

    lines = summary_lines(GenerateSummary(planned=2, requested=2, calls=1).to_json(), [], SIG)
    assert lines[0] == ("accepted 0 of 2 planned in 1 LM call (none accepted); "
                        "rejected: none")
    assert lines[2].endswith("diversity not measured -> not measured")
    some = GenerateSummary(planned=3, requested=3, calls=1, accepted=["x"],
                           rejected=Counter({"duplicate": 1, "wrong_cell": 1}),
                           diversity_after=0.9)
    lines = summary_lines(some.to_json(), ["batch 2: timed out"], SIG)
    assert lines[:2] == ["failed: batch 2: timed out",
                         "accepted 1 of 3 planned in 1 LM call (1.0 calls per accepted "
                         "example); rejected: duplicate 1, wrong cell 1"]
    labelled = bootstrap_lines({"prompts": 1, "already_labelled": 0, "accepted": 1,
                                "rejected": {}, "failures": [], "calls": 1}, SIG)
    assert labelled == ["1 prompt: 0 labelled before, 1 labelled now in 1 LM call; "
                        "rejected: none", f"review them: tf review --signature {SIG}"]
    for line in lines + labelled:
        assert not re.search(r"None|\{|\b1 [a-z ]*(calls|prompts|examples)\b", line), line


def test_lm_check_speaks_text_by_default_and_json_with_f_json(project: Path):
    from tests.lm_server import LMServer

    with LMServer() as server:
        env = {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base,
               "DSPY_CACHEDIR": str(project / ".dspy_cache")}
        text = run_tf("lm", "check", cwd=project, env=env)
        data = run_tf("lm", "check", "-f", "json", cwd=project, env=env)
    assert text.exit_code == 0 and text.stdout.startswith("model: openai/test-model at ")
    assert "structured output: parses" in text.stdout and "{" not in text.stdout
    assert data.exit_code == 0 and json.loads(data.stdout)["structured_output"] is True


def test_version_and_the_fmt_check_hint(project: Path):
    version = run_tf("--version", cwd=project)
    assert version.exit_code == 0 and re.fullmatch(r"tf \d+\.\d+\.\d+\n", version.stdout)
    path = project / "datasets" / SIG
    path.mkdir(parents=True, exist_ok=True)
    (path / "examples.jsonl").write_text(json.dumps(example(1), indent=1).replace("\n", "")
                                         + "\n")
    checked = run_tf("fmt", "--check", cwd=project)
    assert checked.exit_code == 1 and "fix: tf fmt" in checked.stderr


def test_capture_reasons_are_one_line_and_cost_reads_as_money(project: Path):
    from tf_cli import capture
    from tf_cli.generate import GenerateSummary
    from tf_cli.render.generate import summary_lines

    refused = capture("nope", {"user_intent": "x"}, {"intent_matches": True}, project=project)
    assert not refused.accepted and "\n" not in refused.reason
    assert 'unknown signature "nope"' in refused.reason and "(hint: known signatures:" \
        in refused.reason
    lines = summary_lines(GenerateSummary(planned=2, requested=2, calls=1).to_json(), [], SIG)
    assert lines[1].startswith("tokens: 0 prompt, 0 completion; cost $0.0000")
