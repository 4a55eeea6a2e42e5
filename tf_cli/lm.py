"""The language model: `lm` in params.yaml, overridden by TF_LM_MODEL, TF_LM_API_BASE and
TF_LM_API_KEY. Keys come from the environment only and are never written anywhere, and go
only to a base the user chose (not to one that only params.yaml names).

With no model configured, everything that needs no LM works, and the stages that would
call one say so and still leave valid outputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from tf_cli.errors import TfError
from tf_cli.lm_retry import (  # noqa: F401  tf's one retry policy, named from here too
    MAX_ATTEMPTS,
    reporting_attempts,
    retry_wait,
    retrying,
    timed_out,
)
from tf_cli.lm_servers import (
    COMPATIBLE,
    compatible_engine_class,
    compatible_server,
    retries_after_timeout,
    token_limit_field,
    url_in_model,
)

# DSPy asks LiteLLM for a price map over the network on first use unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


DEFAULT_MAX_RETRY_WAIT = 30.0
DEFAULT_DEADLINE = 300.0
DEFAULT_MAX_ANSWER_BYTES = 4_000_000


class LMError(TfError):
    """The model cannot be reached or answers with an error."""

    exit_code = 1


@dataclass(frozen=True)
class LMSettings:
    model: str | None = None
    api_base: str | None = None
    # True when the user chose the base (TF_LM_API_BASE, or TF_LM_ALLOW_API_BASE naming the
    # base params.yaml gives); False when it came from params.yaml alone, which a pull
    # request can change: no key from the environment goes there.
    api_base_trusted: bool = True
    temperature: float = 0.0
    max_tokens: int = 1000
    num_threads: int = 2
    cache: bool = True
    timeout: float = 60.0  # seconds without a byte; such a timeout is retried like a 5xx
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT  # the longest wait before a retry
    deadline: float = DEFAULT_DEADLINE  # seconds for a whole request; not retried
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES  # a longer answer is cut off, not retried
    # How answers are constrained to the signature's JSON Schema (tf_cli.structured).
    structured_output: str = "auto"  # auto | json_schema | json_object | off
    # The request field that carries max_tokens: "auto" sends OpenAI's own
    # max_completion_tokens to OpenAI, and max_tokens to any other server (see
    # `token_limit_field`).
    token_limit_field: str = "auto"  # auto | max_tokens | max_completion_tokens

    @property
    def configured(self) -> bool:
        return bool(self.model)

    @property
    def endpoint(self) -> str:
        return _without_credentials(self.api_base) or "its default endpoint"

    @property
    def model_shown(self) -> str | None:
        """The model string for reports, files and messages: a server URL inside it
        ("oobabooga/http://user:pass@host") without its credentials."""
        url = url_in_model(self.model)
        if self.model is None or url is None:
            return self.model
        return f"{self.model.split('/', 1)[0]}/{_without_credentials(url)}"

    def describe(self) -> dict:
        """What may go into reports and logs: never the key, nor credentials in the URL."""
        return {"model": self.model_shown, "api_base": _without_credentials(self.api_base),
                "temperature": self.temperature, "max_tokens": self.max_tokens,
                "token_limit_field": token_limit_field(self), "timeout": self.timeout,
                "deadline": self.deadline, "retries_after_timeout": retries_after_timeout(self),
                "structured_output": self.structured_output}


def settings(params: dict) -> LMSettings:
    from dataclasses import replace

    from tf_cli.settings import section

    given = section(params, "lm", LMSettings)  # params.yaml, with the defaults above
    _check_limits(given)
    model = os.environ.get("TF_LM_MODEL") or given.model
    from_environment = os.environ.get("TF_LM_API_BASE")
    api_base = from_environment or given.api_base
    allowed = os.environ.get("TF_LM_ALLOW_API_BASE")

    def chosen(url: str | None) -> bool:
        return not url or (bool(allowed) and
                           _without_credentials(url) == _without_credentials(allowed))

    trusted = bool(from_environment) or chosen(api_base)
    if not os.environ.get("TF_LM_MODEL") and isinstance(model, str):
        # Some LiteLLM providers take the server from the model string
        # ("oobabooga/http://host:port"): from params.yaml, that is a base too.
        trusted = trusted and chosen(url_in_model(model))
    return replace(given, model=model or None, api_base=api_base or None,
                   api_base_trusted=trusted)


# Bounds kept in code as well as in tf_cli/params.schema.json: `settings()` also takes
# params that never went through load_params (the tf_cli API, a caller's own dict).
_LIMITS = {"timeout": (0.1, 3600.0), "deadline": (0.1, 3600.0),
           "max_retry_wait": (0.0, 600.0), "max_answer_bytes": (1000, 100_000_000),
           "temperature": (0.0, 2.0), "max_tokens": (1, 1_000_000), "num_threads": (1, 64)}


_CHOICES = {"structured_output": ("auto", "json_schema", "json_object", "off"),
            "token_limit_field": ("auto", "max_tokens", "max_completion_tokens")}


def _check_limits(lm: LMSettings) -> None:
    from tf_cli.errors import ConfigError
    from tf_cli.layout import PARAMS_FILE
    from tf_cli.problems import Problem

    for name, allowed in _CHOICES.items():
        if getattr(lm, name) not in allowed:
            raise ConfigError([Problem(
                PARAMS_FILE, f"lm.{name} is {getattr(lm, name)!r}: tf accepts one of "
                f"{', '.join(allowed)}", pointer=f"$.lm.{name}", config=True)])
    for name, (low, high) in _LIMITS.items():
        value = getattr(lm, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not low <= value <= high:
            raise ConfigError([Problem(
                PARAMS_FILE, f"lm.{name} is {value!r}: tf accepts a number from {low:g} to "
                f"{high:g}", pointer=f"$.lm.{name}", config=True)])


def make_lm(lm: LMSettings):
    """A dspy.LM for the settings; the key is read from the environment here, and only here."""

    if not lm.model:
        raise TfError("no language model configured",
                      hint="set lm.model in params.yaml or TF_LM_MODEL (e.g. "
                           "openai/gpt-4o-mini, or ollama_chat/llama3.2 with TF_LM_API_BASE="
                           "http://localhost:11434/v1)")
    key = os.environ.get("TF_LM_API_KEY")
    # Where the requests go: a URL inside the model string wins, as LiteLLM reads it.
    where = url_in_model(lm.model) or lm.api_base or "its default endpoint"
    if not lm.api_base_trusted:
        if key:
            raise TfError(
                f"params.yaml sends the model to {_without_credentials(where)} (lm.api_base or "
                "lm.model), a setting any pull request can change, so TF_LM_API_KEY is not "
                "sent there",
                hint=f"if you trust that server, export TF_LM_ALLOW_API_BASE="
                     f"{_without_credentials(where)} (or set TF_LM_API_BASE and TF_LM_MODEL "
                     "yourself); or unset TF_LM_API_KEY for a server that needs no key")
        # An explicit placeholder: otherwise the provider's client would pick up a key
        # such as OPENAI_API_KEY from the environment and send it to that base.
        key = "no-key"
    if key is None and lm.api_base and lm.model.startswith("openai/"):
        key = "local"  # OpenAI-compatible local servers want some key
    from tf_cli.structured import Constraint

    constraint = Constraint(lm.structured_output)
    bounded = _bounded_engine(lm, key, constraint)
    engine, transport = bounded if bounded is not None else (None, None)
    if engine is None:  # LiteLLM sends OpenAI's spelling; only tf's transport writes others
        constraint = Constraint(lm.structured_output, spellable=("json_schema", "off"))
    if engine is None and not lm.api_base_trusted:
        # LiteLLM's providers find their own credentials in the environment (watsonx,
        # databricks, gigachat tokens...) and would send them to that base; and that path
        # has no deadline nor size cap.
        raise TfError(
            f"params.yaml sends {lm.model_shown} to {_without_credentials(where)}, a setting any "
            "pull request can change, through a provider only LiteLLM knows, which would send "
            "credentials it finds in your environment there",
            hint=f"if you trust that server, export TF_LM_ALLOW_API_BASE="
                 f"{_without_credentials(where)} (or set TF_LM_API_BASE and TF_LM_MODEL "
                 "yourself)")
    if engine is not None:  # it owns the connection: base, key and timeouts
        kwargs = {"engine": engine}
    else:
        kwargs = {"timeout": lm.timeout, **({"api_base": lm.api_base} if lm.api_base else {}),
                  **({"api_key": key} if key is not None else {})}
    client = _bounded_lm_class()(lm.model, temperature=lm.temperature,
                                 max_tokens=lm.max_tokens, cache=lm.cache, num_retries=0,
                                 **kwargs)
    client.tf_max_wait = lm.max_retry_wait
    client.tf_constraint = constraint
    client.tf_transport = transport  # counts the requests sent (`usage`)
    client.tf_retry_timeouts = retries_after_timeout(lm)
    client.tf_settings = lm
    return client


def _bounded_engine(lm: LMSettings, key: str | None, constraint):
    """DSPy's native (lm15) engine on a transport with a total deadline per request, a cap
    on the answer's size and the response format spelled for the server
    (tf_cli.lm_transport), and that transport; or None for a provider lm15 does not route,
    which DSPy then sends through LiteLLM with only the per-read timeout."""
    from dspy.clients.engines.lm15_engine import LM15Engine
    from dspy.lm15 import ConfigurationError, RouterConfig, UnsupportedFeatureError

    from tf_cli.lm_transport import BoundedTransport

    try:
        provider = LM15Engine(RouterConfig(env={})).resolve(lm.model).provider
    except (ConfigurationError, UnsupportedFeatureError, ValueError):
        return None
    transport = BoundedTransport(
        deadline=lm.deadline, max_answer_bytes=lm.max_answer_bytes,
        read_timeout=lm.timeout, write_timeout=lm.timeout, pool_timeout=lm.timeout,
        constraint=constraint)
    declared: tuple = ()
    engine_class = LM15Engine
    if provider == "openai-chat" and token_limit_field(lm) == "max_tokens":
        provider, declared, engine_class = COMPATIBLE, (compatible_server(),), \
            compatible_engine_class()
    engine = engine_class(RouterConfig(
        api_keys={provider: key} if key is not None else None,
        base_urls={provider: lm.api_base} if lm.api_base else None, transport=transport,
        providers=declared))
    return engine, transport


@cache
def _bounded_lm_class():
    """dspy.LM whose retries tf runs (`retrying`), so every wait is capped (DSPy 3.4
    honours any Retry-After in full). Built on first use: dspy is imported only by
    commands that need it."""
    import dspy

    class BoundedLM(dspy.LM):
        tf_attempts = MAX_ATTEMPTS
        tf_max_wait = DEFAULT_MAX_RETRY_WAIT

        tf_constraint = None
        tf_retry_timeouts = True
        tf_settings = LMSettings()

        def __call__(self, *args, **kwargs):
            call = super().__call__

            def attempt():
                # A server that refuses the response format is asked again at once in the
                # next spelling (tf_cli.structured); off, the request carries none.
                constraint = self.tf_constraint
                while True:
                    if constraint is not None and not constraint.active:
                        kwargs.pop("response_format", None)
                    mode = constraint.mode if constraint is not None else "off"
                    try:
                        return call(*args, **kwargs)
                    except Exception as exc:
                        from tf_cli.structured import refused_format

                        if not ("response_format" in kwargs and mode != "off" and
                                refused_format(exc) and constraint is not None and
                                constraint.step_down(mode, self._said(exc))):
                            raise

            return retrying(attempt, self.tf_max_wait, self.tf_attempts,
                            self.tf_retry_timeouts)

        def _said(self, exc: Exception) -> str:
            """What the server said, on one line, without DSPy's "[model]" prefix and with
            every secret masked (it goes into reports kept in git)."""
            text = " ".join(str(exc).split()).removeprefix(f"[{self.model}] ")
            return redacted(text, self.tf_settings, 160)

    return BoundedLM


def explain(exc: BaseException, lm: LMSettings, limit: int = 300) -> str:
    """An LM error in tf's words: a timeout names lm.timeout (not the HTTP client's
    internals), the DSPy "[model]" prefix goes (the message says the model already), and
    credentials are masked (`redacted`)."""
    if timed_out(exc):
        return (f"no answer within {lm.timeout:g} s (lm.timeout in params.yaml): the server "
                "is slow or busy; raise lm.timeout for a slow local model, or lower "
                "lm.max_tokens")
    text = str(exc)
    if lm.model and text.startswith(f"[{lm.model}] "):
        text = text[len(lm.model) + 3:]
    return redacted(text, lm, limit)


def _without_credentials(url: str | None) -> str | None:
    """The URL without user:password@ and without a query (where tokens hide), for
    messages, reports and comparisons."""
    if not url or ("@" not in url and "?" not in url):
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=host, query=""))


def redacted(text: str, lm: LMSettings, limit: int = 300) -> str:
    """The first line of `text` (an error from the HTTP client, or a server's own words,
    which may echo the request) with TF_LM_API_KEY and the credentials of the base URL, or
    of a URL in the model string, masked; then cut to `limit` characters. Masking comes
    first, so a secret longer than the cut cannot survive it."""
    from urllib.parse import urlsplit

    secrets = [os.environ.get("TF_LM_API_KEY") or ""]
    for url in (lm.api_base, url_in_model(lm.model)):
        if url:
            parts = urlsplit(url)
            secrets += [parts.netloc.rpartition("@")[0], parts.query]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return (text.splitlines() or [""])[0][:limit]


def ensure_reachable(client, lm: LMSettings) -> None:
    """One tiny request before real work, so an unreachable model is one clear error
    rather than a failure per example deep inside an optimizer."""
    try:  # uncached: an answer from the disk cache proves nothing about the server
        client.copy(cache=False)("Reply with OK.")
    except Exception as exc:  # any transport or provider error
        raise LMError(f"{lm.model_shown} at {lm.endpoint}: {explain(exc, lm)}",
                      hint="check TF_LM_API_BASE, the server, and TF_LM_API_KEY; "
                           "`tf lm check` tries one request") from None


def check(lm: LMSettings) -> dict:
    """One short request: the model, its latency, and whether structured output parses, as
    tf's own calls ask for it (the response format, when the server takes one:
    tf_cli.structured). A failed parse shows the start of the model's answer."""
    import time

    import dspy
    from dspy.utils.exceptions import AdapterParseError

    from tf_cli.dspy_io import schema_adapter

    client = make_lm(lm).copy(cache=False)
    probe = dspy.Predict(dspy.Signature({
        "question": (str, dspy.InputField()),
        "answer": (int, dspy.OutputField(desc="a whole number")),
        "sure": (bool, dspy.OutputField())}, "Answer the arithmetic question."))
    adapter = schema_adapter({"type": "object", "properties": {
        "answer": {"type": "integer"}, "sure": {"type": "boolean"}}}, "check",
        client.tf_constraint) or dspy.ChatAdapter(use_json_adapter_fallback=False)
    start = time.perf_counter()
    try:
        with dspy.context(lm=client, adapter=adapter):
            prediction = probe(question="What is 2 + 3?")
        parsed, detail = True, f"answer={prediction.answer!r} sure={prediction.sure!r}"
    except AdapterParseError as exc:
        from tf_cli.structured import excerpt

        said = " ".join(str(exc.lm_response or "").split())
        parsed, detail = False, (f"{redacted(str(exc), lm, 200)}; the model said: "
                                 f"{excerpt(said, 300)!r}")
    except Exception as exc:  # any transport error, reported plainly
        raise LMError(f"{lm.model_shown} at {lm.endpoint}: {explain(exc, lm)}",
                      hint="check TF_LM_API_BASE, the server, and TF_LM_API_KEY") from None
    return {**lm.describe(), "latency_s": round(time.perf_counter() - start, 3),
            "structured_output": parsed, "detail": detail,
            "response_format": client.tf_constraint.describe()}


def log_dspy_to(path) -> Callable[[], None]:
    """Send the log records of DSPy (and of the libraries it drives: LiteLLM, optuna) to
    the file `path` instead of the terminal: a pipeline stage's output in `dvc repro` stays
    tf's own lines, not hundreds of raw model answers. Returns a function that puts the
    previous handlers back. Imports dspy, whose import installs the handler replaced."""
    import logging

    import dspy  # noqa: F401  its import adds the stderr handler replaced below

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # the last run's log, not this one's
    handler = logging.FileHandler(path, mode="w", encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    before = {}
    for name in ("dspy", "LiteLLM", "optuna"):
        logger = logging.getLogger(name)
        before[name] = (logger.handlers[:], logger.propagate)
        logger.handlers = [handler]
        logger.propagate = False

    def restore() -> None:
        for name, (handlers, propagate) in before.items():
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = handlers, propagate
        handler.close()

    return restore


def usage(client) -> dict:
    """Calls, tokens and cost recorded in a dspy.LM's history (cache hits record none)."""
    prompt = completion = 0
    cost = 0.0
    for entry in client.history:
        tokens = entry.get("usage") or {}
        prompt += int(tokens.get("prompt_tokens") or 0)
        completion += int(tokens.get("completion_tokens") or 0)
        cost += float(entry.get("cost") or 0.0)
    transport = getattr(client, "tf_transport", None)
    # Requests the transport sent, failed and timed-out ones included (a failed request
    # is in no history); through LiteLLM, the calls that answered.
    calls = transport.requests if transport is not None else len(client.history)
    return {"lm_calls": calls, "prompt_tokens": prompt,
            "completion_tokens": completion, "cost": round(cost, 6)}
