"""What tf knows of the servers a model runs on: which field carries the token limit,
whether a server is on this machine or a private network (where a timed-out request is not
sent again), the lm15 provider tf declares for OpenAI-compatible servers, and the server a
model string names. Split from tf_cli.lm, which builds the client from these answers.
dspy is imported only inside the functions that build lm15 objects.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tf_cli.lm import LMSettings

_OPENAI_HOST = "api.openai.com"
# The provider tf declares to lm15 for `openai/<model>` on any other server: the same
# OpenAI chat wire, with the token limit sent as `max_tokens`, which every
# OpenAI-compatible server reads (llama.cpp's servers ignore max_completion_tokens, so a
# small model wrote until its context was full) and no OpenAI-only dials.
COMPATIBLE = "tf-openai-compatible"


def token_limit_field(lm: LMSettings) -> str:
    """The field that carries lm.max_tokens: OpenAI's own API gets max_completion_tokens
    (its reasoning models refuse max_tokens); an `openai/` model on any other base gets
    max_tokens; Ollama (`ollama_chat/`) and vLLM (`hosted_vllm/`) routes always send
    max_tokens. lm.token_limit_field names one, for a proxy that needs the other."""
    if lm.token_limit_field != "auto":
        return lm.token_limit_field
    if lm.model and lm.model.startswith("openai/") and lm.api_base and \
            _host(lm.api_base) != _OPENAI_HOST:
        return "max_tokens"
    return "max_completion_tokens" if (lm.model or "").startswith("openai/") else "max_tokens"


def retries_after_timeout(lm: LMSettings) -> bool:
    """Whether a request that timed out (lm.timeout) is sent again. Not to a server on
    this machine or a private network (loopback, 10/8, 172.16/12, 192.168/16, *.local,
    localhost): llama.cpp, Ollama and vLLM servers there go on generating the abandoned
    answer, so a retry would queue behind it and time out too. Hosted APIs are retried."""
    # The base the requests go to: api_base, or for the LiteLLM providers that take the
    # server from the model string ("oobabooga/http://host"), that URL.
    url = lm.api_base or url_in_model(lm.model)
    return not (url and _is_local_host(_host(url)))


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    if "://" not in url:
        url = "http://" + url  # "localhost:8080/v1"
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


_LOCAL_SUFFIXES = (".local", ".localhost", ".lan", ".internal", ".home.arpa")


def _is_local_host(host: str) -> bool:
    """Loopback, private, link-local or shared (CGNAT, Tailscale) addresses, in any
    spelling the resolver takes ("127.1", "2130706433"), and the names of local networks."""
    import ipaddress
    import socket

    if host in ("localhost", "host.docker.internal") or host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the short and numeric IPv4 forms inet_aton reads, as the resolver does
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return False
    return (address.is_loopback or address.is_private or address.is_link_local or
            address in ipaddress.ip_network("100.64.0.0/10"))


@cache
def compatible_server():
    """lm15's declaration of an OpenAI-compatible server: OpenAI's chat wire with
    `max_tokens`, as lm15's own preset for such servers (LM Studio's) spells it."""
    from dspy.lm15 import AccessPolicy, OpenAIChatCompat, ProviderDefinition

    return ProviderDefinition.chat(
        AccessPolicy(provider=COMPATIBLE, env_keys=(), base_url="http://localhost/v1"),
        compat=OpenAIChatCompat(instruction_role="system", max_tokens_field="max_tokens",
                                stream_usage="include", thinking_format="none",
                                tool_result_name="omit", strict_tools="omit",
                                cache_control="none"),
        placeholder_key="local")


@cache
def compatible_engine_class():
    """LM15Engine that routes `openai/<model>` to the declared compatible server: the
    model string (and so DSPy's cache key and every report) stays what the user wrote."""
    from dspy.clients.engines.lm15_engine import LM15Engine

    class CompatibleServerEngine(LM15Engine):
        def resolve(self, model: str):
            head, _, rest = model.partition("/")
            return super().resolve(f"{COMPATIBLE}/{rest}" if head == "openai" else model)

    return CompatibleServerEngine


def url_in_model(model: str | None) -> str | None:
    """The server URL some LiteLLM providers take inside the model string, if any."""
    if model and "://" in model:
        return model.split("/", 1)[-1]
    return None
