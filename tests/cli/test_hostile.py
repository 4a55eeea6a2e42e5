"""What a pull request can change (params.yaml, schemas, datasets) is untrusted: it must not
make tf read or write outside the repository, run anything, or leak a secret."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, fixture_project_at, run_tf, run_tf_process
from tests.lm_server import LMServer, MisbehavingServer

SECRET_FILE_TEXT = "top-secret-line-7f3a"


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A project with the fixture data, and a file outside it that must stay unread."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_FILE_TEXT + "\n")
    return fixture_project_at(tmp_path / "repo"), secret


def with_dimension(project: Path, sql: str) -> None:
    """Add a dimension to validate_intent with this SQL, as a pull request could."""
    path = project / "params.yaml"
    text = path.read_text()
    anchor = "    validate_intent:\n      min_examples: 20\n      target_examples: 50\n" \
             "      dimensions:\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + f"        probe:\n          sql: {sql}\n"))


@pytest.mark.parametrize("sql, reason", [
    ("\"(SELECT content FROM read_text('{secret}'))\"", "a subquery (SELECT ...) is not allowed"),
    ("\"1) FROM read_text('{secret}') --\"", "not one SQL expression"),
    ("\"1); COPY (SELECT 1) TO '{out}'; SELECT (1\"", "not one SQL expression: a second "
                                                     "statement"),
    ("\"1); ATTACH '{out}' AS x; SELECT (1\"", "not one SQL expression"),
    ("\"1); INSTALL httpfs; SELECT (1\"", "not one SQL expression"),
    ("\"unnest(range(100))\"", "unnest() is not allowed"),  # would multiply the counts
    ("\"COLUMNS(*)\"", "* or COLUMNS(...) is not allowed"),
    ("\"count(*) OVER ()\"", "a window function is not allowed"),
    ("\"list_sum(range(200000000))\"", "range() is not allowed"),  # a minute in one value
    ("\"current_setting('secret_directory')\"", "current_setting() is not allowed"),
    # gigabytes from one number, past DuckDB's memory limit
    ("\"length(lpad('', 2000000000, 'x'))\"", "lpad() is not allowed"),
    ("\"length(printf('%500000000d', 1))\"", "printf() is not allowed"),
])
def test_coverage_sql_must_be_one_expression(hostile, sql: str, reason: str,
                                             commands=(["coverage", "-s", "validate_intent"],)):
    project, secret = hostile
    out = project / "written-by-sql.txt"
    with_dimension(project, sql.format(secret=secret, out=out))
    for command in commands:
        result = run_tf(*command, cwd=project)
        assert result.exit_code == 2, (command, result)
        assert "params.yaml:" in result.stderr and reason in result.stderr
        assert "$.coverage.signatures.validate_intent.dimensions.probe.sql" in result.stderr
        assert SECRET_FILE_TEXT not in result.stdout + result.stderr
    assert not out.exists()
    line = int(result.stderr.split("params.yaml:", 1)[1].split(":", 1)[0])
    assert "probe" in (project / "params.yaml").read_text().splitlines()[line - 2]


def test_every_command_that_reads_coverage_refuses_such_sql(hostile):
    """They all read coverage.yaml through one check (Project.coverage): shown once here,
    and for tf coverage alone with each kind of SQL above."""
    test_coverage_sql_must_be_one_expression(
        hostile, "\"(SELECT content FROM read_text('{secret}'))\"",
        "a subquery (SELECT ...) is not allowed",
        commands=(["check"], ["coverage", "--format", "json"], ["status"]))


def test_every_duckdb_connection_is_a_sandbox(hostile):
    """SQL typed on the command line is the user's own, yet it still reads only the data."""
    project, secret = hostile
    result = run_tf("sample", "-s", "validate_intent", "--where",
                    f"(SELECT count(*) FROM read_text('{secret}')) > 0", cwd=project)
    assert result.exit_code == 2
    assert "file system operations are disabled" in result.stderr
    assert SECRET_FILE_TEXT not in result.stdout + result.stderr


def with_lm_base(project: Path, api_base: str) -> None:
    path = project / "params.yaml"
    text = path.read_text()
    assert "  api_base: null" in text
    path.write_text(text.replace("  api_base: null", f"  api_base: {api_base}", 1))


def test_the_key_never_follows_an_api_base_that_only_params_yaml_names(hostile):
    """README set-up: model and key in the environment. A pull request points lm.api_base
    at its own server: tf refuses to send TF_LM_API_KEY there, and no provider key from
    the environment leaks either; the user can allow the base explicitly."""
    project, _ = hostile
    secret = "sk-test-never-sent-1234"
    with LMServer() as server:
        with_lm_base(project, server.api_base)
        env = {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_KEY": secret,
               "DSPY_CACHEDIR": str(project / ".dspy_cache")}
        for command in (["lm", "check"], ["generate", "-s", "validate_completeness"]):
            refused = run_tf(*command, cwd=project, env=env)
            assert refused.exit_code == 2, refused
            assert "a setting any pull request can change" in refused.stderr
            assert f"TF_LM_ALLOW_API_BASE={server.api_base}" in refused.stderr
        assert server.state.authorizations == []

        provider_key = run_tf("lm", "check", cwd=project,
                              env={**env, "TF_LM_API_KEY": "", "OPENAI_API_KEY": secret})
        assert provider_key.exit_code == 0, provider_key.stderr
        assert server.state.authorizations and \
            all(secret not in header for header in server.state.authorizations)

        allowed = run_tf("lm", "check", cwd=project,
                         env={**env, "TF_LM_ALLOW_API_BASE": server.api_base})
        assert allowed.exit_code == 0, allowed.stderr
        assert server.state.authorizations[-1] == f"Bearer {secret}"


@pytest.mark.parametrize("document, message", [
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
     "params.yaml:2: YAML aliases (*a) are not accepted"),
    ("coverage: " + "[" * 1000 + "]" * 1000 + "\n", "params.yaml:1: nested more than 64 levels"),
    # YAML 1.1 reads "010" as 8 and "no" as false: tf reads 1.2 only, and says so.
    ("%YAML 1.1\n---\nlm:\n  num_threads: 010\n",
     "params.yaml:1: a %YAML 1.1 directive: tf reads YAML 1.2"),
])
def test_params_yaml_cannot_blow_up(hostile, document: str, message: str):
    project, _ = hostile
    (project / "params.yaml").write_text(document)
    started = time.monotonic()
    result = run_tf("check", cwd=project)
    assert result.exit_code == 2 and message in result.stderr
    assert time.monotonic() - started < 30


def test_json_deeper_than_tf_can_write_back_is_a_clear_problem(project: Path):
    nested: dict = {"x": 1}
    for _ in range(300):  # orjson reads this (up to 1024 levels) but writes only 254
        nested = {"a": nested}
    record = {"id": "01JE0000000000000000000001", "inputs": nested, "outputs": {},
              "metadata": {}}
    path = project / "datasets/validate_intent/examples.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    for command in (["validate"], ["check"], ["fmt"], ["sample", "-s", "validate_intent"]):
        result = run_tf(*command, cwd=project)  # run_tf fails on any traceback
        assert result.exit_code in (0, 1), (command, result)
    result = run_tf("validate", cwd=project)
    assert result.exit_code == 1
    assert "examples.jsonl:1: JSON nested more than 254 levels deep" in result.stdout


def test_capture_stays_in_its_signature_and_never_raises(project: Path):
    from tf_cli import capture

    (project / "params.yaml").write_text("capture:\n  min_quality: 0.5\n")
    valid = ({"user_intent": "Export invoices as CSV", "implementation": "def export(): ..."},
             {"intent_matches": True,
              "explanation": "It writes the invoices as CSV, which is what was asked."})
    assert capture("validate_intent", *valid, project=project).accepted  # valid as such
    escaped = capture("../schemas/validate_intent", *valid, project=project)
    assert not escaped.accepted and 'unknown signature "../schemas/validate_intent"' in \
        escaped.reason
    assert not list((project / "schemas").rglob("*.jsonl"))
    odd = capture("validate_intent", {"user_intent": {"a", "set"}}, {}, project=project)
    assert not odd.accepted and odd.reason


def test_sql_that_fails_only_on_real_data_names_its_dimension(hostile):
    project, _ = hostile
    with_dimension(project, "CAST(inputs.user_intent AS INTEGER)")
    line = (project / "params.yaml").read_text().splitlines().index(
        "          sql: CAST(inputs.user_intent AS INTEGER)") + 1
    result = run_tf("check", cwd=project)
    assert result.exit_code == 2
    assert (f"params.yaml:{line}: $.coverage.signatures.validate_intent.dimensions.probe.sql: "
            "validate_intent: dimension probe: DuckDB fails on the data: Conversion Error") in \
        result.stderr


def test_no_silent_answers_for_what_does_not_exist(hostile):
    project, _ = hostile
    for command in (["coverage", "-s", "nosuch"], ["log", "-s", "nosuch"]):
        result = run_tf(*command, cwd=project)
        assert result.exit_code == 2 and 'unknown signature "nosuch"' in result.stderr
    (project / "emptydir").mkdir()
    result = run_tf("validate", "emptydir", "-s", "validate_intent", cwd=project)
    assert result.exit_code == 2 and "no .jsonl files in this folder" in result.stderr


def test_fmt_never_rounds_a_number_silently(project: Path):
    path = project / "datasets/validate_intent/examples.jsonl"
    path.parent.mkdir(parents=True)
    line = (b'{"id": "01JE0000000000000000000002", "metadata": {"quality": {"score": '
            b'0.30000000000000000000000001}}}\n')
    path.write_bytes(line)
    result = run_tf("fmt", cwd=project)
    assert result.exit_code == 1
    assert "(0.30000000000000000000000001) has more digits than" in result.stdout
    assert path.read_bytes() == line


@pytest.mark.parametrize("rule, message", [
    ({"check": "subset", "field": "outputs.missing_requirement", "of": "inputs.requirements"},
     'field "outputs.missing_requirement" is not declared in the schema\'s properties'),
    ({"check": "at_most", "field": "outputs.explanation", "limit": "inputs.implementation"},
     'field "outputs.explanation" is string; at_most compares numbers'),
    ({"check": "distinct", "field": "outputs.is_complete"},
     'field "outputs.is_complete" is boolean, not an array'),
])
def test_a_rule_that_could_never_fail_or_could_only_crash_is_refused(project: Path, rule,
                                                                     message: str):
    path = project / "schemas/validate_completeness.rules.json"
    path.write_text(json.dumps({"rules": [{"name": "probe", "description": "a probe",
                                           **rule}]}))
    result = run_tf("validate", cwd=project)
    assert result.exit_code == 2
    assert f'validate_completeness.rules.json: rule "probe": {message}' in result.stdout


def test_a_ref_cycle_is_a_schema_error_not_a_crash(project: Path):
    path = project / "schemas/validate_intent.schema.json"
    schema = json.loads(path.read_text())
    schema["$defs"] = {**schema.get("$defs", {}), "a": {"$ref": "#/$defs/b"},
                       "b": {"$ref": "#/$defs/a"}}
    schema["properties"]["inputs"]["properties"]["user_intent"] = {"$ref": "#/$defs/a"}
    path.write_text(json.dumps(schema))
    for command in (["check"], ["coverage"]):
        result = run_tf(*command, cwd=project)  # run_tf fails on any traceback
        assert result.exit_code == 2, (command, result)
        assert "$ref cycle: #/$defs/a -> #/$defs/b -> #/$defs/a" in result.stderr


def test_a_signature_schema_without_its_four_parts_is_a_schema_error(project: Path):
    path = project / "schemas/validate_intent.schema.json"
    schema = json.loads(path.read_text())
    del schema["properties"]["inputs"]
    schema["required"] = [r for r in schema["required"] if r != "inputs"]
    path.write_text(json.dumps(schema))
    for command in (["validate"], ["check"], ["coverage"], ["sample", "-s", "validate_intent"]):
        result = run_tf(*command, cwd=project)  # run_tf fails on any traceback
        assert result.exit_code == 2, (command, result)
        assert "must declare properties id, inputs, outputs and metadata; inputs missing" in \
            result.stdout + result.stderr


def test_generate_shows_only_valid_curated_examples_as_demos(hostile):
    project, _ = hostile
    path = project / "datasets/validate_completeness/examples.jsonl"
    with open(path, "ab") as out:  # no metadata.source: invalid, never a demo
        out.write(b'{"id":"01JE0000000000000000000009","inputs":{},"metadata":{},"outputs":{}}\n')
    with LMServer() as server:
        result = run_tf("generate", "-s", "validate_completeness", "--count", "2",
                        cwd=project, env={"TF_LM_MODEL": "openai/test-model",
                                          "TF_LM_API_BASE": server.api_base,
                                          "DSPY_CACHEDIR": str(project / ".dspy_cache")})
    assert result.exit_code == 0, result.stderr
    assert "01JE0000000000000000000009" not in "".join(server.state.prompts)


def test_a_retry_after_of_a_day_waits_at_most_lm_max_retry_wait(hostile):
    """Every path that calls the LM through DSPy (here tf lm check) caps the wait."""
    project, _ = hostile
    path = project / "params.yaml"
    path.write_text(path.read_text().replace("  timeout: 60", "  timeout: 60\n"
                                                               "  max_retry_wait: 1", 1))
    with LMServer() as server:
        server.state.retry_after = "100000"
        server.state.faults = ["429", "429"]
        started = time.monotonic()
        result = run_tf("lm", "check", cwd=project,
                        env={"TF_LM_MODEL": "openai/test-model",
                             "TF_LM_API_BASE": server.api_base,
                             "DSPY_CACHEDIR": str(project / ".dspy_cache")})
        waited = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert server.state.requests >= 3  # both 429s were retried
    assert waited < 30


def test_a_deep_yaml_import_and_malformed_pending_lines_are_refused_not_crashes(project: Path):
    (project / "deep.yaml").write_text("- " + "[" * 1000 + "]" * 1000 + "\n")
    result = run_tf("import", "deep.yaml", "-s", "validate_intent", cwd=project)
    assert result.exit_code == 2 and "deep.yaml:1: nested more than 64 levels" in result.stderr
    # What libyaml refuses (an unknown directive) but the importer's parser reads is
    # scanned with that parser: neither the nesting nor an alias bomb gets through.
    (project / "deep.yaml").write_text("%FOO bar\n---\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_tf("import", "deep.yaml", "-s", "validate_intent", cwd=project)
    assert result.exit_code == 2 and "deep.yaml:3: nested more than 64 levels" in result.stderr
    bomb = ["%FOO bar", "---", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefgh", "abcdefg", strict=True):
        bomb.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    (project / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    started = time.monotonic()
    result = run_tf("import", "bomb.yaml", "-s", "validate_intent", "--dry-run", cwd=project)
    assert result.exit_code == 2 and "bomb.yaml:4: YAML aliases (*a)" in result.stderr
    assert time.monotonic() - started < 30
    path = project / "datasets/validate_intent/synthetic.jsonl"
    path.parent.mkdir(parents=True)
    lines = (b'{"inputs":{},"metadata":{"review":{"status":"pending"}}}\n'
             b'{"id":["x"],"metadata":{"review":{"status":"pending"}}}\n')
    path.write_bytes(lines)
    for args in (["review", "-s", "validate_intent", "--approve-all", "--where", "true"],
                 ["review", "-s", "validate_intent"]):
        result = run_tf(*args, cwd=project, input="q\n")  # run_tf fails on any traceback
        assert result.exit_code == 0, result
    assert path.read_bytes() == lines



def test_schema_files_that_are_links_fifos_or_huge_are_refused(project: Path, tmp_path: Path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"properties": {"id": "' + SECRET_FILE_TEXT + '"}}')
    schemas = project / "schemas"
    for make in (lambda p: p.symlink_to("/dev/zero"), lambda p: p.symlink_to(secret),
                 os.mkfifo, lambda p: p.write_bytes(b" " * (5 << 20))):
        path = schemas / "zz.schema.json"
        make(path)
        started = time.monotonic()
        result = run_tf("check", cwd=project)
        assert result.exit_code == 2, result
        assert "schemas/zz.schema.json:" in result.stderr
        assert SECRET_FILE_TEXT not in result.stdout + result.stderr
        assert time.monotonic() - started < 30
        path.unlink()
    moved = tmp_path / "real-schemas"
    schemas.rename(moved)
    schemas.symlink_to(moved)
    result = run_tf("check", cwd=project)
    assert result.exit_code == 2 and "schemas: a symbolic link" in result.stderr


def test_more_hostile_files_are_clear_errors(hostile):
    project, _ = hostile
    params = project / "params.yaml"
    original = params.read_text()
    params.write_text(original.replace("  temperature: 0.0", "  temperature: " + "9" * 5000))
    result = run_tf("check", cwd=project)
    line = original[:original.index("  temperature: 0.0")].count("\n") + 1
    assert result.exit_code == 2 and f"params.yaml:{line}: a number in it has more digits " \
        "than tf reads" in result.stderr
    params.write_text(original)
    path = project / "schemas/validate_intent.schema.json"
    schema = json.loads(path.read_text())
    nested: dict = {"type": "object"}
    for _ in range(900):
        nested = {"items": nested}
    schema["properties"]["metadata"] = nested
    path.write_text(json.dumps(schema))
    result = run_tf("check", cwd=project)
    assert result.exit_code == 2 and "nested more than 64 levels deep" in result.stderr


def test_balance_with_sql_that_fails_on_the_pool_is_a_config_error(hostile):
    from tf_cli.errors import ConfigError
    from tf_cli.pipeline.balance import balance
    from tf_cli.pipeline.validate import PoolOptions, build_pool
    from tf_cli.project import Project
    from tf_cli.settings import BalanceSettings, Settings

    project, _ = hostile
    with_dimension(project, "CAST(inputs.user_intent AS INTEGER)")
    tf_project = Project(project)
    build_pool(tf_project, "validate_intent", PoolOptions.from_settings(Settings.from_params({})))
    with pytest.raises(ConfigError, match="dimension probe: DuckDB fails on the data") as caught:
        balance(tf_project, "validate_intent",
                BalanceSettings(cell_dimensions=("difficulty", "probe")))
    [problem] = caught.value.problems
    assert problem.line is not None and problem.pointer == \
        "$.coverage.signatures.validate_intent.dimensions.probe.sql"
    assert problem.message.startswith("validate_intent: dimension probe:")  # not "difficulty"


def no_retry_waits(project: Path) -> None:
    params = project / "params.yaml"
    text = params.read_text()
    params.write_text(text.replace("  timeout: 60", "  max_retry_wait: 0\n  timeout: 60", 1))
    assert "max_retry_wait: 0" in params.read_text()


def test_credentials_in_the_base_url_never_reach_a_message(hostile):
    project, _ = hostile
    no_retry_waits(project)  # the refused connection is not worth waiting for again
    # a process of its own: its whole output, library logging included, is what is checked
    result = run_tf_process("lm", "check", cwd=project, env={
        "TF_LM_MODEL": "openai/test", "TF_LM_API_KEY": "k",
        "TF_LM_API_BASE": "http://alice:hunter2@127.0.0.1:9/v1?token=abc123"})
    assert result.exit_code != 0
    assert "hunter2" not in result.stdout + result.stderr
    assert "abc123" not in result.stdout + result.stderr


@pytest.mark.parametrize("sql, reason", [
    ("1+" * 3000 + "1", "Max expression depth"), ("x" * 20_000, "longer than 10,000")])
def test_coverage_sql_that_is_too_deep_or_long_is_refused(sql: str, reason: str):
    from tf_cli.duck import expression_problem

    assert reason in (expression_problem(sql) or "")


def test_a_server_named_inside_the_model_string_is_a_base_too(hostile):
    project, _ = hostile
    path = project / "params.yaml"
    with LMServer() as server:
        url = server.api_base.removesuffix("/v1")
        path.write_text(path.read_text().replace("  model: null", f"  model: oobabooga/{url}", 1))
        result = run_tf("lm", "check", cwd=project, env={"TF_LM_API_KEY": "sk-never-sent"})
        assert result.exit_code == 2
        assert f"params.yaml sends the model to {url}" in result.stderr
        assert f"TF_LM_ALLOW_API_BASE={url}" in result.stderr
        assert server.state.authorizations == []


@pytest.mark.parametrize("behaviour, message", [
    ("trickle_head", "no complete answer within 2 s (lm.deadline)"),
    ("trickle_body", "no complete answer within 2 s (lm.deadline)"),
    ("endless_chunks", "the answer passed 100000 bytes (lm.max_answer_bytes)"),
    ("gzip_bomb", "the server compressed its answer (gzip, gzip) although tf asked for none"),
])
def test_a_server_that_trickles_or_never_finishes_is_cut_off(hostile, behaviour, message):
    """lm.timeout bounds each wait for a byte; lm.deadline bounds the whole request and
    lm.max_answer_bytes its answer, on the probe (tf lm check) and on real work (tf generate),
    and neither is retried."""
    project, _ = hostile
    path = project / "params.yaml"
    path.write_text(path.read_text().replace(
        "  timeout: 60", "  timeout: 1\n  deadline: 2\n  max_answer_bytes: 100000", 1))
    generate = ["generate", "-s", "validate_completeness", "--count", "2"]
    for command, everything in ((["lm", "check"], True), (generate, False)):
        with MisbehavingServer(behaviour, everything=everything) as server:
            started = time.monotonic()
            result = run_tf(*command, cwd=project, timeout=60,
                            env={"TF_LM_MODEL": "openai/test-model",
                                 "TF_LM_API_BASE": server.api_base,
                                 "DSPY_CACHEDIR": str(project / ".dspy_cache")})
            took = time.monotonic() - started
            sent = server.bytes_sent
        assert result.exit_code == 1, (command, result)
        assert message in result.stdout + result.stderr, (command, result)
        assert "retrying" not in result.stdout + result.stderr
        assert took < 20, (command, took)  # one attempt, cut off at its deadline
        assert sent < 20_000_000, (command, sent)  # the endless answer stopped being read


def test_a_pull_request_cannot_loosen_or_delete_the_params_schema(hostile):
    """params.yaml is checked against the schema shipped inside tf: a schemas/params.schema.json
    that a pull request adds (loosened) is not read, and with none in schemas/ every bad value
    is still a message naming params.yaml and the line, never a traceback."""
    project, _ = hostile
    loosened = json.loads((REPO / "tf_cli/params.schema.json").read_text())
    for name in ("deadline", "timeout", "max_retry_wait", "max_answer_bytes"):
        loosened["properties"]["lm"]["properties"][name] = {}
    loosened["properties"]["coverage"]["properties"]["diversity_sample"] = {}
    (project / "schemas/params.schema.json").write_text(json.dumps(loosened))
    params = project / "params.yaml"
    original = params.read_text()
    for section, name, value, message in (
            ("lm", "deadline", "100000000", "greater than the maximum of 3600"),
            ("lm", "max_answer_bytes", "100000000000", "greater than the maximum"),
            ("lm", "model", "123", "is not of types"),
            ("lm", "api_base", "[1, 2]", "is not of types"),
            ("coverage", "diversity_sample", "abc", 'is not of type "integer"')):
        line = f"  {name}: {value}"
        text, found = re.subn(rf"^  {name}:.*$", line, original, count=1, flags=re.M)
        params.write_text(text if found else original.replace(f"\n{section}:\n",
                                                              f"\n{section}:\n{line}\n", 1))
        for schema_there in (True, False):
            if not schema_there:
                (project / "schemas/params.schema.json").unlink(missing_ok=True)
            result = run_tf("coverage", cwd=project, timeout=60)
            assert result.exit_code == 2, (name, result)
            assert "params.yaml:" in result.stderr and message in result.stderr, (name, result)


def test_a_provider_only_litellm_knows_never_goes_to_a_base_params_yaml_names(hostile):
    """LiteLLM's providers find their own credentials in the environment (watsonx,
    databricks...), and that path has no deadline: with only params.yaml naming the base,
    tf refuses it before any request."""
    project, _ = hostile
    path = project / "params.yaml"
    with LMServer() as server:
        with_lm_base(project, server.api_base)
        path.write_text(path.read_text().replace("  model: null", "  model: "
                                                 "litellm_proxy/test-model", 1))
        result = run_tf("lm", "check", cwd=project, env={"WATSONX_TOKEN": "never-sent"})
        assert result.exit_code == 2, result
        assert "through a provider only LiteLLM knows" in result.stderr
        assert f"TF_LM_ALLOW_API_BASE={server.api_base}" in result.stderr
        assert server.state.authorizations == []


def test_credentials_in_a_model_string_url_never_reach_output_or_files(hostile):
    project, _ = hostile
    secret = "hunter2-in-the-model-url"
    no_retry_waits(project)  # the refused connection is not worth waiting for again
    # a process of its own: its whole output, library logging included, is what is checked
    result = run_tf_process("lm", "check", cwd=project, timeout=120,
                    env={"TF_LM_MODEL": f"oobabooga/http://alice:{secret}@127.0.0.1:9",
                         "DSPY_CACHEDIR": str(project / ".dspy_cache")})
    assert result.exit_code != 0
    assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_params_yaml_must_be_a_regular_file(hostile, kind: str):
    """A pull request can commit params.yaml as a link to a secret (which a message would
    print) or as a FIFO (which would hang a read)."""
    project, secret = hostile
    params = project / "params.yaml"
    params.unlink()
    if kind == "link":
        params.symlink_to(secret)
    else:
        os.mkfifo(params)
    result = run_tf("check", cwd=project, timeout=30)
    assert result.exit_code == 2, result
    assert "params.yaml must be a regular file" in result.stderr
    assert SECRET_FILE_TEXT not in result.stdout + result.stderr


@pytest.mark.parametrize(("name", "text", "kind"), [
    ("params.yaml", "- 1\n- 2\n", "a list"), ("params.yaml", "hello\n", "a string"),
    ("coverage.yaml", "- a\n", "a list")])
def test_a_settings_file_that_is_not_a_mapping_is_refused(hostile, name: str, text: str,
                                                         kind: str):
    project, _ = hostile
    if name == "coverage.yaml":  # the coverage section moves out of params.yaml
        from tests.conftest import move_coverage_to_its_file

        move_coverage_to_its_file(project)
    (project / name).write_text(text)
    result = run_tf("check", cwd=project, timeout=30)
    assert result.exit_code == 2, result
    assert f"{name}:1: the top level is {kind}; {name} must be a mapping" in result.stderr


def test_a_grid_of_too_many_cells_is_refused_with_its_line(hostile):
    """Every empty cell of a grid is a gap held in memory: 216^3 cells would take gigabytes."""
    project, _ = hostile
    path = project / "params.yaml"
    text = path.read_text()
    anchor = "    validate_intent:\n      min_examples: 20\n      target_examples: 50\n" \
             "      dimensions:\n"
    buckets = ", ".join(f"b{i}" for i in range(216))
    dims = "".join(f"        g{x}:\n          sql: metadata.category\n          buckets: "
                   f"[{buckets}]\n" for x in "abc")
    text = text.replace(anchor, anchor + dims)
    start = text.index(anchor)
    at = text.index("      requirements:\n", start) + len("      requirements:\n")
    path.write_text(text[:at] + "        - {grid: [ga, gb, gc], min_per_cell: 1, level: warn}\n"
                    + text[at:])
    result = run_tf("coverage", "-s", "validate_intent", cwd=project, timeout=60)
    assert result.exit_code == 2, result
    assert "params.yaml:" in result.stderr and "cells (buckets: " in result.stderr
    assert "over the 100,000 tf checks" in result.stderr


@pytest.mark.parametrize("rejects, reason", [
    ("datasets/validate_intent/examples.jsonl", "inside datasets/ or schemas/"),
    ("rows.csv", "the file being imported"),
    ("fifo", "not a regular file"),
    ("link", "a symbolic link"),
])
def test_import_rejects_file_never_replaces_data_or_special_files(hostile, rejects, reason):
    project, secret = hostile
    (project / "rows.csv").write_text(
        "user_intent,implementation,intent_matches,explanation,difficulty,category\n"
        '"Export CSV","def f(): pass",maybe,"x",easy,billing\n')
    os.mkfifo(project / "fifo")
    (project / "link").symlink_to(secret)
    before = {p: p.read_bytes() for p in (project / "datasets").rglob("*.jsonl")}
    result = run_tf("import", "rows.csv", "-s", "validate_intent", "--rejects", rejects,
                    cwd=project, timeout=30)
    assert result.exit_code == 2 and reason in result.stderr, result
    assert {p: p.read_bytes() for p in (project / "datasets").rglob("*.jsonl")} == before
    assert secret.read_text() == SECRET_FILE_TEXT + "\n"


@pytest.mark.parametrize("value, message", [
    ("!!binary aGVsbG8=", "a !!binary value"),
    ("{? [a, b] : c}", "a key that is not text"),
    (".inf", "is not a JSON number"),
])
def test_import_refuses_yaml_values_json_cannot_hold(hostile, value: str, message: str):
    project, _ = hostile
    (project / "rows.yaml").write_text(f"- {{user_intent: {value}, implementation: b}}\n")
    result = run_tf("import", "rows.yaml", "-s", "validate_intent", "--dry-run", cwd=project)
    assert result.exit_code == 2 and message in result.stderr, result


def test_import_reads_a_yaml_date_as_its_text(hostile):
    project, _ = hostile
    (project / "rows.yaml").write_text(
        "- {user_intent: 2001-01-01, implementation: 'def f(): pass', intent_matches: false,\n"
        "   explanation: 'It never mentions the date the user asked about, at all.',\n"
        "   difficulty: easy, category: billing}\n")
    result = run_tf("import", "rows.yaml", "-s", "validate_intent", cwd=project)
    assert result.exit_code == 0, result
    added = (project / "datasets/validate_intent/examples.jsonl").read_text().splitlines()[-1]
    assert json.loads(added)["inputs"]["user_intent"] == "2001-01-01"


def test_interactive_input_that_is_not_utf8_is_asked_again(hostile):
    project, _ = hostile
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "tf_cli", "add-example", "-s",
                           "validate_completeness"], cwd=project, input=b"\xff\xfe\n",
                          capture_output=True, timeout=60)
    stderr = done.stderr.decode()
    assert "not valid UTF-8 text; type it again" in stderr and "Traceback" not in stderr


def test_a_linked_summary_folder_is_not_written_through(hostile, tmp_path: Path):
    """summary/ can be committed as a link to a folder elsewhere: tf report (and the
    summary stage) would write the page there."""
    project, _ = hostile
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "summary").symlink_to(outside)
    result = run_tf("report", cwd=project, timeout=60)
    assert result.exit_code == 2, result
    assert "summary: a symbolic link; tf reads and writes only real folders" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_linked_reports_folder_is_not_read(hostile, tmp_path: Path):
    """reports/<sig>/ as a link to a folder whose demos.json says what the attacker wants
    (or holds a secret): tf status and tf report refuse it, naming the link."""
    project, _ = hostile
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "demos.json").write_text(json.dumps({"evaluated": True, "buckets": [
        {"bucket": SECRET_FILE_TEXT, "dimension": "category", "effect": 3.0}]}))
    (project / "reports").mkdir(exist_ok=True)
    (project / "reports" / "validate_intent").symlink_to(outside)
    for command in (["status", "-s", "validate_intent", "-f", "json"],
                    ["report", "-s", "validate_intent"]):
        result = run_tf(*command, cwd=project, timeout=60)
        assert result.exit_code == 2, (command, result)
        assert "reports/validate_intent: a symbolic link" in result.stderr
        assert SECRET_FILE_TEXT not in result.stdout + result.stderr


def test_tf_diff_does_not_follow_a_linked_dataset_file(hostile):
    """A dataset file that is a link (committed or not) to a file outside the repository:
    tf diff refuses it, as tf validate does, instead of showing what it points at."""
    import subprocess

    from tests.conftest import GIT_ENV

    project, secret = hostile
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=project, check=True, env=env, capture_output=True)
    (project / "datasets" / "validate_intent" / "evil.jsonl").symlink_to(secret)
    result = run_tf("diff", "main", cwd=project, timeout=60)
    assert result.exit_code == 2, result
    assert "datasets/validate_intent/evil.jsonl: a symbolic link" in result.stderr
    assert SECRET_FILE_TEXT not in result.stdout + result.stderr


HOSTILE_TEXT = "[/oops] \x1b[2K\x1b[1A\x1b[32mALL CHECKS PASSED\r\u202e [bold]spoof[/]"


def test_control_characters_and_markup_in_the_data_are_shown_as_text(hostile):
    """An example's text reaches the terminal in tf coverage (a dimension over a text
    field), tf diff (a word diff) and messages: escape sequences could erase or forge the
    lines a reviewer reads, and Rich markup ("[/oops]") crashed the coverage table."""
    import subprocess

    from tests.conftest import GIT_ENV

    project, _ = hostile
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=project, check=True, env=env, capture_output=True)
    path = project / "datasets" / "validate_intent" / "examples.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["outputs"]["explanation"] = HOSTILE_TEXT
    lines[0] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    with_dimension(project, "outputs.explanation")
    for command in (["coverage", "-s", "validate_intent"], ["diff"]):
        result = run_tf(*command, cwd=project, timeout=60)
        assert result.exit_code in (0, 1), (command, result)
        shown = result.stdout + result.stderr
        assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown, command
        assert "\\x1b[2K\\x1b[1A\\x1b[32mALL CHECKS PASSED\\x0d\\u202e" in shown, command
    table = run_tf("coverage", "-s", "validate_intent", cwd=project, timeout=60).stdout
    assert "[/oops]" in table and "[bold]spoof[/]" in table


def test_costly_coverage_sql_is_stopped_at_the_deadline(hostile):
    """One short expression can take hours (nested list_transform over literals); the
    queries of a command stop at TF_QUERY_SECONDS with a message saying where to look."""
    project, _ = hostile
    hundred = "[" + ", ".join(str(i) for i in range(100)) + "]"
    nested = f"len(list_transform({hundred}, lambda d: a + b + c + d))"
    for name in "cba":  # 100^4 additions per example: about a second each
        nested = f"list_sum(list_transform({hundred}, lambda {name}: {nested}))"
    with_dimension(project, f'"{nested}"')
    started = time.monotonic()
    result = run_tf("coverage", "-s", "validate_intent", cwd=project, timeout=60,
                    env={"TF_QUERY_SECONDS": "0.5"})
    assert result.exit_code == 2, result
    assert "DuckDB queries over the data ran past 0.5 s and were stopped" in result.stderr
    assert "TF_QUERY_SECONDS=SECONDS allows more time" in result.stderr
    assert time.monotonic() - started < 30


def test_a_line_too_long_for_duckdb_is_named_as_data_not_as_sql(hostile):
    """DuckDB cannot read a line past its object limit (16 MiB, read in 32 MiB buffers) at
    all: tf coverage names the dataset file (tf validate names the line), not the first
    dimension's SQL."""
    project, _ = hostile
    path = project / "datasets" / "validate_intent" / "examples.jsonl"
    with open(path, "a") as out:
        out.write(json.dumps({"id": "01M7J23GF0XWGMAQBRPXXYZZZZ", "pad": "x" * (33 << 20)})
                  + "\n")
    result = run_tf("coverage", "-s", "validate_intent", cwd=project, timeout=120)
    assert result.exit_code == 2, result
    assert "datasets/validate_intent/examples.jsonl: a line too long for DuckDB to read" \
        in result.stderr
    assert "coverage.yaml" not in result.stderr and "params.yaml" not in result.stderr


def test_markdown_for_a_pull_request_keeps_repository_text_as_text(hostile):
    """The Markdown tf check and tf coverage write for a pull request quotes bucket names
    from the data: one must not close a <details>, open an HTML comment that hides the rest,
    add a table column or start a heading."""
    project, _ = hostile
    path = project / "datasets" / "validate_intent" / "examples.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["metadata"]["category"] = "x | ✅ |</details><!--\n## ✅ All checks passed"
    lines[0] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    for command in (["check", "--format", "markdown"],
                    ["coverage", "-s", "validate_intent", "--format", "markdown"]):
        shown = run_tf(*command, cwd=project, timeout=60).stdout
        # what is quoted in a fenced code block (tf check's validation problems) is text
        outside = re.sub(r"(?ms)^(`{3,})$.*?^\1$", "", shown)
        assert "<!--" not in outside and "</details><" not in outside, command
        assert "\n## ✅ All" not in outside, command
        assert "x \\| ✅ \\|&lt;/details&gt;&lt;!--\\n## ✅ All checks passed" in shown, command


@pytest.mark.parametrize("where", ["data/validate_intent/pool.jsonl",
                                   "data/validate_intent/dspy.json",
                                   "programs/validate_intent.json",
                                   "reports/validate_intent/validate.json"])
def test_a_pipeline_file_that_links_out_of_the_repository_is_refused(hostile, where: str):
    """A committed link in place of a pipeline output or report: the stages would read a
    secret or /dev/zero through it, and DSPy's save would write through it."""
    import tf_cli
    from tf_cli.errors import UsageError

    project, secret = hostile
    path = project / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(secret)
    with pytest.raises(UsageError, match=f"{where}: a symbolic link"):
        if where.startswith("data/"):
            tf_cli.load_examples("validate_intent", "train", project=project)
        elif where.startswith("programs/"):
            tf_cli.load_program("validate_intent", project=project)
        else:
            from tf_cli.layout import report_path
            from tf_cli.project import Project

            report_path(Project(project), "validate_intent", "validate")
    assert secret.read_text() == SECRET_FILE_TEXT + "\n"


def test_tf_diff_of_hostile_changes_is_bounded_and_clear(hostile):
    """A long field rewritten word by word (word diff is quadratic), a line that only
    starts like a canonical one, and an example nested 1,000 levels deep: tf diff answers
    in seconds, without a traceback."""
    import subprocess

    from tests.conftest import GIT_ENV

    project, _ = hostile
    env = {**os.environ, **GIT_ENV}

    def commit() -> None:
        for args in (["add", "-A"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *args], cwd=project, check=True, env=env,
                           capture_output=True)

    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True, env=env)
    path = project / "datasets" / "validate_intent" / "examples.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["outputs"]["explanation"] = " ".join(["a", "b"] * 20_000)
    lines[0] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    commit()
    record["outputs"]["explanation"] = " ".join(["b", "a"] * 20_000)
    deep = '{"a":' * 1_000 + '{"x":1}' + "}" * 1_000  # more than json.dumps can write
    nested = json.dumps(json.loads(lines[1]) | {"outputs": "DEEP"}).replace('"DEEP"', deep)
    canonical_id = json.loads(lines[2])["id"]
    path.write_text("\n".join([json.dumps(record), nested,
                               f'{{"id":"{canonical_id}", oops', *lines[3:]]) + "\n")
    started = time.monotonic()
    for output in ("text", "markdown", "json"):
        result = run_tf("diff", "main", "--format", output, cwd=project, timeout=60)
        assert result.exit_code == 0, (output, result)
    assert time.monotonic() - started < 30


def test_settings_files_and_duplicate_ids_are_bounded(hostile):
    """A params.yaml of megabytes took minutes to parse; a file of one id on a million
    lines listed a million duplicates."""
    project, _ = hostile
    params = project / "params.yaml"
    original = params.read_text()
    params.write_text(original + "".join(f"k{i}: 1\n" for i in range(200_000)))
    result = run_tf("status", cwd=project, timeout=60)
    assert result.exit_code == 2
    assert "error: params.yaml: 2," in result.stderr and "over the 1,048,576-byte limit" in \
        result.stderr
    params.write_text(original)
    (project / "datasets" / "validate_intent" / "dups.jsonl").write_bytes(
        b'{"id":"x"}\n' * 300_000)
    started = time.monotonic()
    result = run_tf("validate", "--format", "json", cwd=project, timeout=60)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert len(problems) < 25_000
    assert any(p["message"].endswith("more uses of duplicated ids are not listed")
               for p in problems)
    assert time.monotonic() - started < 30
