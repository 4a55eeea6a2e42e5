"""What tf puts on the wire for the servers people run: the token-limit field each one
reads, the response format each one takes (and the step down when one is refused), and
no retry sent to a local server still busy with the request that timed out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_generate import SIG, lm_env, set_lm, synthetic
from tests.conftest import fixture_project_at, run_tf
from tests.lm_server import LMServer
from tf_cli import lm


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return fixture_project_at(tmp_path)


@pytest.mark.parametrize("model, field_setting, sent", [
    # llama.cpp's servers ignore max_completion_tokens: a small model then wrote until its
    # context was full. Any server but OpenAI's own gets max_tokens.
    ("openai/test-model", "auto", "max_tokens"),
    ("openai/test-model", "max_completion_tokens", "max_completion_tokens"),
    ("ollama_chat/test-model", "auto", "max_tokens"),
    ("hosted_vllm/test-model", "auto", "max_tokens"),
])
def test_the_token_limit_goes_in_the_field_the_server_reads(model, field_setting, sent):
    with LMServer() as server:
        settings = lm.LMSettings(model=model, api_base=server.api_base, max_tokens=37,
                                 cache=False, token_limit_field=field_setting)
        lm.make_lm(settings)("Say hi.")
        assert server.state.token_fields == [{sent: 37}]


def test_openai_itself_gets_max_completion_tokens():
    assert lm.token_limit_field(lm.LMSettings(model="openai/gpt-4o-mini")) == \
        "max_completion_tokens"
    assert lm.token_limit_field(lm.LMSettings(
        model="openai/gpt-4o-mini", api_base="https://api.openai.com/v1")) == \
        "max_completion_tokens"
    assert lm.token_limit_field(lm.LMSettings(
        model="openai/smollm2", api_base="http://127.0.0.1:8765/v1")) == "max_tokens"


@pytest.mark.parametrize("base, retried", [
    ("http://127.0.0.1:8765/v1", False), ("http://localhost:11434/v1", False),
    ("http://192.168.1.20:8000/v1", False), ("http://10.0.0.5/v1", False),
    ("http://gpu-box.local:8080/v1", False), ("http://[::1]:8000/v1", False),
    ("https://api.openai.com/v1", True), ("https://llm.example.com/v1", True),
])
def test_a_timeout_is_retried_only_against_a_remote_server(base, retried):
    settings = lm.LMSettings(model="openai/m", api_base=base)
    assert lm.retries_after_timeout(settings) is retried
    assert settings.describe()["retries_after_timeout"] is retried


def test_a_timed_out_request_is_waited_for_once_against_a_remote_server():
    from dspy.utils.exceptions import LMTimeoutError

    timeout = LMTimeoutError("Timeouts(read=60.0) exceeded")
    assert lm.retry_wait(timeout, 0, cap=30, after_timeout=True) == 1.0
    assert lm.retry_wait(timeout, 0, cap=30, after_timeout=False) is None
    shown = lm.explain(timeout, lm.LMSettings(model="openai/m", timeout=60))
    assert shown.startswith("no answer within 60 s (lm.timeout in params.yaml)")
    assert "Timeouts(" not in shown


def schema_of(response_format: dict) -> dict:
    if response_format["type"] == "json_schema":
        return response_format["json_schema"]["schema"]
    return response_format["schema"]


def test_generate_sends_the_signature_schema_as_the_response_format(project: Path):
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, "--count", "5", "--format", "json",
                        cwd=project, env=lm_env(server, project))
        formats = server.state.formats
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 5
    assert summary["structured_output"] == {"structured_output": "auto", "used": "json_schema",
                                            "refused": []}
    [batch] = [f for f in formats if f is not None]  # the probe asks for none
    assert batch["type"] == "json_schema" and batch["json_schema"]["strict"] is False
    examples = schema_of(batch)["properties"]["examples"]
    assert examples["minItems"] == examples["maxItems"] == 5
    outputs = examples["items"]["properties"]["outputs"]
    # The signature's own schema, its $refs into common.schema.json followed...
    assert set(outputs["required"]) == {"is_complete", "missing_requirements", "explanation"}
    assert outputs["properties"]["missing_requirements"]["items"]["type"] == "string"
    assert "$ref" not in json.dumps(batch)
    # ...without the unanchored patterns llama.cpp's grammars cannot take (it would drop the
    # whole schema for them); the answers are still checked against the full schema.
    assert '"pattern"' not in json.dumps(outputs)


def test_a_server_that_refuses_json_schema_gets_its_own_spelling(project: Path):
    set_lm(project, num_threads=1)  # one batch at a time: the order of the formats is known
    with LMServer() as server:
        server.state.refuse_json_schema = True  # as llama-cpp-python's server does
        result = run_tf("generate", "-s", SIG, "--count", "10", "--format", "json",
                        cwd=project, env=lm_env(server, project))
        formats = [f for f in server.state.formats if f is not None]
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 10 == len(synthetic(project))
    assert summary["failures"] == []  # a refused format is no failure: it is asked again
    used = summary["structured_output"]
    assert used["used"] == "json_object" and len(used["refused"]) == 1
    assert used["refused"][0].startswith("json_schema: ") and "response_format" in \
        used["refused"][0] and "openai/test-model" not in used["refused"][0]
    # One refusal, then llama-cpp-python's spelling for every batch, schema included.
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    assert schema_of(formats[1])["properties"]["examples"]["minItems"] == 5


def test_a_server_that_takes_no_response_format_is_asked_by_the_prompt_alone(project: Path):
    with LMServer() as server:
        server.state.refuse_every_format = True
        result = run_tf("generate", "-s", SIG, "--count", "5", "--format", "json",
                        cwd=project, env=lm_env(server, project))
        formats = server.state.formats
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 5 and summary["structured_output"]["used"] == "off"
    assert [f and f["type"] for f in formats] == [None, "json_schema", "json_object", None]


def test_a_format_named_in_params_is_not_stepped_down(project: Path):
    set_lm(project, structured_output="json_schema", num_threads=1)
    with LMServer() as server:
        server.state.refuse_json_schema = True
        result = run_tf("generate", "-s", SIG, "--count", "5", "--format", "json",
                        cwd=project, env=lm_env(server, project))
        requests = server.state.requests
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 0 and summary["rejected"] == {"lm_error": 5}
    assert requests == 2  # the probe, and the batch once: a refusal is not retried
    assert "response_format" in summary["failures"][0]


def test_structured_output_off_sends_no_response_format(project: Path):
    set_lm(project, structured_output="off")
    with LMServer() as server:
        result = run_tf("generate", "-s", SIG, "--count", "5", "--format", "json",
                        cwd=project, env=lm_env(server, project))
        formats = server.state.formats
    assert result.exit_code == 0 and json.loads(result.stdout)["accepted"] == 5
    assert formats == [None, None]


def test_an_unknown_structured_output_setting_is_a_params_error(project: Path):
    set_lm(project, structured_output="grammar")
    result = run_tf("generate", "-s", SIG, "--count", "5", cwd=project)
    assert result.exit_code == 2
    assert "structured_output" in result.stderr and "params.yaml" in result.stderr


def test_dspy_logs_to_a_file_not_between_the_summary_lines(project: Path):
    with LMServer() as server:
        server.state.finish_reason = "length"  # DSPy warns for every such answer
        result = run_tf("generate", "-s", SIG, "--count", "5", cwd=project,
                        env=lm_env(server, project))
    assert result.exit_code == 0, result.stderr
    assert "truncated" not in result.stdout + result.stderr
    log = f"reports/{SIG}/generate.log"
    assert f"DSPy's log: {log}" in result.stderr
    assert "LM response was truncated" in (project / log).read_text()


def test_a_refusal_that_echoes_the_request_leaks_no_secret(project: Path):
    secret, token = "sk-SECRETKEY123", "QSECRET"
    with LMServer() as server:
        server.state.refuse_json_schema = server.state.echo_request = True
        env = {**lm_env(server, project), "TF_LM_API_KEY": secret,
               "TF_LM_API_BASE": f"{server.api_base}?api-key={token}"}
        result = run_tf("generate", "-s", SIG, "--count", "5", "--format", "json",
                        cwd=project, env=env)
    assert result.exit_code == 0, result.stderr
    refused = json.loads(result.stdout)["structured_output"]["refused"]
    assert refused and "Authorization: Bearer ***" in refused[0]
    written = result.stdout + result.stderr + "".join(
        p.read_text() for p in (project / "reports").rglob("*") if p.is_file())
    assert secret not in written and token not in written


def test_an_answer_nested_past_the_validator_is_one_rejection(project: Path):
    set_lm(project, num_threads=1)
    with LMServer() as server:
        server.state.faults = ["none", "deep_one"]
        result = run_tf("generate", "-s", SIG, "--count", "5", "--format", "json",
                        cwd=project, env=lm_env(server, project))
    assert result.exit_code == 0, result.stderr  # run_tf fails on a traceback
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 4 and summary["rejected"] == {"invalid": 1}


@pytest.mark.parametrize("base", ["http://127.1:8080/v1", "http://2130706433/v1",
                                  "http://LOCALHOST./v1", "localhost:8080/v1",
                                  "http://100.64.1.2/v1", "http://gpu.lan/v1"])
def test_every_spelling_of_a_local_server_is_local(base):
    assert not lm.retries_after_timeout(lm.LMSettings(model="openai/m", api_base=base))


def test_the_base_the_requests_go_to_decides_not_a_url_in_the_model_name():
    settings = lm.LMSettings(model="openai/http://remote.example/m",
                             api_base="http://127.0.0.1:8080/v1")
    assert not lm.retries_after_timeout(settings)
    assert lm.retries_after_timeout(lm.LMSettings(model="oobabooga/https://llm.example.com"))
