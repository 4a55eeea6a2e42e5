"""The language model: `lm` in params.yaml, overridden by TF_LM_MODEL, TF_LM_API_BASE and
TF_LM_API_KEY. Keys come from the environment only and are never written anywhere, and go
only to a base the user chose (not to one that only params.yaml names).

With no model configured, everything that needs no LM works, and the stages that would
call one say so and still leave valid outputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from tf_cli.errors import TfError

# DSPy asks LiteLLM for a price map over the network on first use unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


T = TypeVar("T")

MAX_ATTEMPTS = 4  # a call and three retries
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
        url = _url_in_model(self.model)
        if self.model is None or url is None:
            return self.model
        return f"{self.model.split('/', 1)[0]}/{_without_credentials(url)}"

    def describe(self) -> dict:
        """What may go into reports and logs: never the key, nor credentials in the URL."""
        return {"model": self.model_shown, "api_base": _without_credentials(self.api_base),
                "temperature": self.temperature, "max_tokens": self.max_tokens}


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
        trusted = trusted and chosen(_url_in_model(model))
    return replace(given, model=model or None, api_base=api_base or None,
                   api_base_trusted=trusted)


# Bounds kept in code as well as in tf_cli/params.schema.json: `settings()` also takes
# params that never went through load_params (the tf_cli API, a caller's own dict).
_LIMITS = {"timeout": (0.1, 3600.0), "deadline": (0.1, 3600.0),
           "max_retry_wait": (0.0, 600.0), "max_answer_bytes": (1000, 100_000_000),
           "temperature": (0.0, 2.0), "max_tokens": (1, 1_000_000), "num_threads": (1, 64)}


def _check_limits(lm: LMSettings) -> None:
    from tf_cli.errors import ConfigError
    from tf_cli.problems import Problem

    for name, (low, high) in _LIMITS.items():
        value = getattr(lm, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not low <= value <= high:
            raise ConfigError([Problem(
                "params.yaml", f"lm.{name} is {value!r}: tf accepts a number from {low:g} to "
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
    where = _url_in_model(lm.model) or lm.api_base or "its default endpoint"
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
    engine = _bounded_engine(lm, key)
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
    return client


def _bounded_engine(lm: LMSettings, key: str | None):
    """DSPy's native (lm15) engine on a transport with a total deadline per request and a
    cap on the answer's size (tf_cli.lm_transport), or None for a provider lm15 does not
    route, which DSPy then sends through LiteLLM with only the per-read timeout."""
    from dspy.clients.engines.lm15_engine import LM15Engine
    from dspy.lm15 import ConfigurationError, RouterConfig, UnsupportedFeatureError

    from tf_cli.lm_transport import BoundedTransport

    try:
        provider = LM15Engine(RouterConfig(env={})).resolve(lm.model).provider
    except (ConfigurationError, UnsupportedFeatureError, ValueError):
        return None
    transport = BoundedTransport(
        deadline=lm.deadline, max_answer_bytes=lm.max_answer_bytes,
        read_timeout=lm.timeout, write_timeout=lm.timeout, pool_timeout=lm.timeout)
    return LM15Engine(RouterConfig(
        api_keys={provider: key} if key is not None else None,
        base_urls={provider: lm.api_base} if lm.api_base else None, transport=transport))


def retry_wait(exc: Exception, attempt: int, cap: float) -> float | None:
    """Seconds to wait before retrying after `exc` (`attempt` counts from 0), or None when
    it is not worth retrying. A server's Retry-After is honoured up to `cap`: one that
    asks for 28 hours would otherwise stop the command for 28 hours. A request that ran
    past lm.deadline or answered more than lm.max_answer_bytes is not retried: the same
    server would do it again."""
    from dspy.utils.exceptions import is_retryable_lm_error

    from tf_cli.lm_transport import bounded_cause

    if not is_retryable_lm_error(exc) or bounded_cause(exc) is not None:
        return None
    hint = getattr(exc, "retry_after", None)
    wanted = float(hint) if isinstance(hint, int | float) and hint >= 0 else 2.0 ** attempt
    return min(wanted, cap)


# Who hears of each failed LM attempt in this thread (see `reporting_attempts`).
_attempt_report: ContextVar[Callable[[Exception, int, float | None], None] | None] = \
    ContextVar("tf_attempt_report", default=None)


@contextmanager
def reporting_attempts(report: Callable[[Exception, int, float | None], None]
                       ) -> Iterator[None]:
    """Within the block, every failed attempt of an LM call made in this thread calls
    `report(exc, attempt, wait)`: `attempt` counts from 0, `wait` is the seconds before the
    retry, or None when the call gives up. The retries themselves stay in `retrying`."""
    token = _attempt_report.set(report)
    try:
        yield
    finally:
        _attempt_report.reset(token)


def retrying(call: Callable[[], T], cap: float, attempts: int = MAX_ATTEMPTS) -> T:
    """tf's one retry policy for LM calls: `call()` up to `attempts` times, waiting
    `retry_wait` between attempts (so only retryable errors are retried, and no wait passes
    `cap`); the last error is raised. Each failed attempt is told to the report that
    `reporting_attempts` installed, if any."""
    import time

    report = _attempt_report.get()
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:  # DSPy's own LM errors, classified by retry_wait
            wait = retry_wait(exc, attempt, cap)
            retry = wait is not None and attempt + 1 < attempts
            if report is not None:
                report(exc, attempt, wait if retry else None)
            if not retry or wait is None:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


@cache
def _bounded_lm_class():
    """dspy.LM whose retries tf runs (`retrying`), so every wait is capped (DSPy 3.4
    honours any Retry-After in full). Built on first use: dspy is imported only by
    commands that need it."""
    import dspy

    class BoundedLM(dspy.LM):
        tf_attempts = MAX_ATTEMPTS
        tf_max_wait = DEFAULT_MAX_RETRY_WAIT

        def __call__(self, *args, **kwargs):
            call = super().__call__
            return retrying(lambda: call(*args, **kwargs), self.tf_max_wait, self.tf_attempts)

    return BoundedLM


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
    """The first line of `text` (an error from the HTTP client, say) with the credentials of
    the base URL, or of a URL in the model string, masked; then cut to `limit` characters.
    Masking comes first, so a secret longer than the cut cannot survive it."""
    from urllib.parse import urlsplit

    for url in (lm.api_base, _url_in_model(lm.model)):
        if url:
            parts = urlsplit(url)
            for secret in (parts.netloc.rpartition("@")[0], parts.query):
                if secret:
                    text = text.replace(secret, "***")
    return (text.splitlines() or [""])[0][:limit]


def _url_in_model(model: str | None) -> str | None:
    """The server URL some LiteLLM providers take inside the model string, if any."""
    if model and "://" in model:
        return model.split("/", 1)[-1]
    return None


def ensure_reachable(client, lm: LMSettings) -> None:
    """One tiny request before real work, so an unreachable model is one clear error
    rather than a failure per example deep inside an optimizer."""
    try:  # uncached: an answer from the disk cache proves nothing about the server
        client.copy(cache=False)(messages=[{"role": "user", "content": "Reply with OK."}])
    except Exception as exc:  # any transport or provider error
        raise LMError(f"{lm.model_shown} at {lm.endpoint}: "
                      f"{redacted(str(exc), lm)}",
                      hint="check TF_LM_API_BASE, the server, and TF_LM_API_KEY; "
                           "`tf lm check` tries one request") from None


def check(lm: LMSettings) -> dict:
    """One short request: the model, its latency, and whether structured output parses."""
    import time

    import dspy

    client = make_lm(lm).copy(cache=False)
    probe = dspy.Predict(dspy.Signature({
        "question": (str, dspy.InputField()),
        "answer": (int, dspy.OutputField(desc="a whole number")),
        "sure": (bool, dspy.OutputField())}, "Answer the arithmetic question."))
    start = time.perf_counter()
    try:
        with dspy.context(lm=client, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
            prediction = probe(question="What is 2 + 3?")
        parsed, detail = True, f"answer={prediction.answer!r} sure={prediction.sure!r}"
    except Exception as exc:  # a parse failure or any transport error, reported plainly
        message = redacted(str(exc), lm)
        if "parse" not in message.lower() and "adapter" not in message.lower():
            raise LMError(f"{lm.model_shown} at {lm.endpoint}: {message}",
                          hint="check TF_LM_API_BASE, the server, and TF_LM_API_KEY") from None
        parsed, detail = False, message
    return {**lm.describe(), "latency_s": round(time.perf_counter() - start, 3),
            "structured_output": parsed, "detail": detail}


def usage(client) -> dict:
    """Calls, tokens and cost recorded in a dspy.LM's history (cache hits record none)."""
    prompt = completion = 0
    cost = 0.0
    for entry in client.history:
        tokens = entry.get("usage") or {}
        prompt += int(tokens.get("prompt_tokens") or 0)
        completion += int(tokens.get("completion_tokens") or 0)
        cost += float(entry.get("cost") or 0.0)
    return {"lm_calls": len(client.history), "prompt_tokens": prompt,
            "completion_tokens": completion, "cost": round(cost, 6)}
