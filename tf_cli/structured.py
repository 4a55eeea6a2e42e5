"""Schema-constrained answers: the signature's JSON Schema sent as the response format, so a
server that can constrain decoding (OpenAI, llama.cpp, vLLM, Ollama) only produces JSON of
that shape, and small models stop answering with prose, code or templates.

`lm.structured_output` in params.yaml chooses how:
- `json_schema`: OpenAI's spelling, `{"type": "json_schema", "json_schema": {"schema": ...}}`,
  which OpenAI, vLLM, Ollama and llama.cpp's own `llama-server` honour;
- `json_object`: `{"type": "json_object", "schema": ...}`, the spelling of
  llama-cpp-python's server (which refuses `json_schema`);
- `off`: no response format; the prompt alone asks for JSON (the parse then finds a JSON
  value anywhere in the answer: `find_json`);
- `auto` (the default): `json_schema`, and when the server refuses it (an error that names
  the response format), `json_object`, then `off`, remembered for the rest of the run.

Everything above tf (DSPy's adapters, lm15) asks in the `json_schema` spelling; the
transport (tf_cli.lm_transport) writes the chosen spelling on the wire (`spell`), so a
step down needs no other change to the request. Imported without dspy.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import orjson

MODES = ("json_schema", "json_object", "off")
SETTINGS = ("auto", *MODES)
# The longest answer `find_json` looks through, and how many starts it tries: a model's
# answer is a few KB; a hostile server's is capped by lm.max_answer_bytes, and this bounds
# the scan's work on it.
_SCAN_CHARS = 1_000_000
_SCAN_STARTS = 200


class NotParsed(Exception):
    """The model answered, but its answer could not be read (DSPy's adapter could not
    parse it, say); `answer` is what it said, for the evidence."""

    def __init__(self, message: str, answer: str):
        super().__init__(message)
        self.answer = answer


class Constraint:
    """How one run's requests are constrained, shared by the threads and copies of its LM
    client. Steps down (json_schema -> json_object -> off) when the server refuses."""

    def __init__(self, setting: str = "auto", spellable: tuple[str, ...] = MODES):
        """`spellable`: the modes the client can send (through LiteLLM, not json_object,
        which only tf's transport spells)."""
        if setting not in SETTINGS:
            raise ValueError(f"lm.structured_output is {setting!r}: one of {', '.join(SETTINGS)}")
        self.setting = setting
        wanted = list(MODES) if setting == "auto" else [setting]
        self._modes = [mode for mode in wanted if mode in spellable] or ["off"]
        self.refusals: list[str] = [  # why each mode was given up, for the reports
            f"{mode}: this provider goes through LiteLLM, which cannot send it"
            for mode in wanted if mode not in spellable]
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return self._modes[0]

    @property
    def active(self) -> bool:
        """True while requests carry a response format."""
        return self.mode != "off"

    def step_down(self, refused: str, why: str) -> bool:
        """The server refused mode `refused` (`why`, its error): use the next one. False
        when there is none left (the setting named one mode), so the error stands."""
        with self._lock:
            if self.mode != refused:  # another thread stepped down already
                return True
            if len(self._modes) == 1:
                return False
            self.refusals.append(f"{refused}: {why}")
            self._modes.pop(0)
            return True

    def describe(self) -> dict:
        return {"structured_output": self.setting, "used": self.mode,
                "refused": list(self.refusals)}


def response_format(name: str, schema: dict) -> dict:
    """The response format tf's callers hand DSPy: OpenAI's json_schema spelling, not
    strict (strict mode wants every property required and no additionalProperties, which
    a signature's schema need not say), of the schema as grammars take it (`for_grammar`)."""
    return {"type": "json_schema", "json_schema": {
        "name": _format_name(name), "schema": for_grammar(schema), "strict": False}}


def for_grammar(node: Any) -> Any:
    """`node` without the `pattern`s that are not anchored (^...$). llama.cpp compiles the
    schema into a grammar and takes only anchored patterns; one unanchored pattern (a
    common "\\S": not blank) makes it drop the whole schema, silently, for any JSON. Each
    answer is still validated against the full schema afterwards."""
    if isinstance(node, dict):
        return {key: for_grammar(value) for key, value in node.items()
                if not (key == "pattern" and isinstance(value, str) and
                        not (value.startswith("^") and value.endswith("$")))}
    if isinstance(node, list):
        return [for_grammar(item) for item in node]
    return node


def spell(body: dict, mode: str) -> bool:
    """Rewrite the request body's response format in `mode`'s spelling (in place); True
    when it changed. Called by the transport on the JSON it is about to send."""
    found = body.get("response_format")
    if not isinstance(found, dict) or found.get("type") != "json_schema" or mode == "json_schema":
        return False
    if mode == "off":
        del body["response_format"]
        return True
    inner = found.get("json_schema") or {}
    body["response_format"] = {"type": "json_object", "schema": inner.get("schema", {})}
    return True


def refused_format(exc: BaseException) -> bool:
    """True when an LM error says the server refused the response format itself, not that
    it failed for a passing reason: a 400 or 422 that names the format, or a 500 that says
    the format failed validation or is not supported (llama-cpp-python answers a
    json_schema format with a 500 "validation error ... response_format"). A busy 502, 503
    or 504 is retried as usual, whatever it says."""
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    text = str(exc).lower()
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        text += " " + str(cause).lower()
    names_it = any(word in text for word in ("response_format", "json_schema",
                                              "response format", "grammar"))
    if status in (400, 422):
        return names_it
    if status == 500:
        return names_it and any(word in text for word in (
            "validation", "input should be", "not supported", "unsupported", "invalid"))
    return False


def find_json(text: str) -> Any:
    """The first JSON object or list in `text`: the whole text, a fenced block, or one that
    starts after some prose ("Here are the examples: [...]"). Raises ValueError when there
    is none."""
    try:  # the whole answer, however long (lm.max_answer_bytes bounds it)
        whole = orjson.loads(text.strip())
        if isinstance(whole, dict | list):
            return whole
    except orjson.JSONDecodeError:
        pass
    text = text[:_SCAN_CHARS]  # the scan below is bounded
    decoder = json.JSONDecoder()
    tried = 0
    position = 0
    while tried < _SCAN_STARTS:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        tried += 1
        try:
            value, _ = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            position = start + 1
            continue
        if isinstance(value, dict | list):
            return value
        position = start + 1
    raise ValueError("no JSON object or list in the answer")


def excerpt(text: str, limit: int = 2000) -> str:
    """The start of a model's answer, for a rejects file."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


def _format_name(name: str) -> str:
    """OpenAI wants ^[a-zA-Z0-9_-]{1,64}$ as the format's name."""
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)
    return cleaned[:64] or "answer"
