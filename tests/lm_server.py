"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for the tests.

A request with a response format (tf constrains answers to the signature's JSON Schema:
tf_cli.structured) is answered with a JSON value of that schema, as a constraining server
does. A request without one is answered as DSPy's ChatAdapter asks: it reads the output
fields (the "Your output fields are:" list in the system message, with their Python types)
and answers every one with a value of that type, deterministically, in the adapter's
`[[ ## field ## ]]` format. It counts requests and tokens, keeps the token-limit fields and
response formats it was sent, and can refuse the json_schema spelling as
llama-cpp-python's server does. Nothing here reaches any other host.
"""

from __future__ import annotations

import functools
import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# How tf generate's prompt begins (tf_cli/generate.py): the server answers those requests
# with examples, and every other one in DSPy's ChatAdapter format.
GENERATE_PROMPT = "You write training examples for the DSPy signature"
_FIELD = re.compile(r"^\d+\. `(\w+)` \((.+?)\)(?::|$)", re.MULTILINE)


def answer_for(type_name: str, field: str):
    type_name = type_name.strip()
    if type_name == "bool":
        return "True"
    if type_name == "int":
        return "1"
    if type_name == "float":
        return "0.5"
    if type_name.startswith("Literal["):
        return re.findall(r"'([^']*)'", type_name)[0]
    if type_name.startswith("list[int"):
        return "[1]"
    if type_name.startswith("list["):
        return "[]"
    if type_name.startswith("dict"):
        return "{}"
    return f"A deterministic answer for {field} from the test server."


_WORDS = ("ledger invoice tenant shard cursor webhook token quota replica bucket cache "
          "schema migration cron backoff queue mutex lease checksum snapshot payload "
          "throttle session cookie header locale currency refund coupon audit export "
          "import avatar thumbnail upload search index ranking feed digest badge").split()


def completeness_example(n: int, cell: dict[str, str]) -> dict:
    """A validate_completeness example in the given cell, its text unique to `n`."""
    rng = random.Random(n)

    def words(k: int) -> str:
        return " ".join(rng.choices(_WORDS, k=k))  # one call: tests make tens of thousands

    requirements = [f"Requirement {i + 1} of feature {n}: {words(5)}" for i in range(4)]
    # the fixture's buckets, and the repository's coverage.yaml's "nearly" (one missing);
    # another bucket gets one missing requirement rather than a crashed server
    missing = {"full": 0, "nearly": 1, "partial": 1, "barely": 3}.get(
        cell.get("completion", "full"), 1)
    return {"inputs": {"implementation": f"def feature_{n}(request):\n    # {words(12)}\n"
                                          f"    return handle_{n}(request)",
                       "requirements": requirements},
            "outputs": {"is_complete": missing == 0,
                        "missing_requirements": requirements[4 - missing:],
                        "explanation": f"Feature {n}: {words(14)}."},
            "difficulty": cell.get("difficulty", "medium"),
            "category": cell.get("category", "api")}


def value_for(schema: dict, field: str, rng: random.Random | None = None):
    """A deterministic value of a (tf-inlined) JSON Schema, for a constrained answer; with
    `rng`, its strings are sentences of words drawn from it (distinct examples)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        return {name: value_for(sub, name, rng)
                for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [value_for(schema.get("items", {}), f"{field} {i + 1}", rng)
                for i in range(max(schema.get("minItems", 0), 1 if rng else 0))]
    if kind == "boolean":
        return True
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return min(max(0.5, schema.get("minimum", 0.5)), schema.get("maximum", 0.5))
    if rng is not None:
        return f"The {field} of this case: " + " ".join(rng.choice(_WORDS) for _ in range(12))
    return f"A deterministic answer for {field} from the test server."


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.fail_with: int | None = None  # an HTTP status to answer every request with
        self.faults: list[str] = []  # one per coming request: 429, 500, timeout, not_json,
        #                               malformed_one (one example of a batch is broken),
        #                               prose (an answer with no JSON and no fields, to any
        #                               request), deep_one (one example nested 300 deep)
        self.generated = 0
        self.delay = 0.0  # seconds to wait before answering a generation request
        self.prompts: list[str] = []  # every generation prompt, for tests to read
        self.authorizations: list[str] = []  # the Authorization header of every request
        self.retry_after = "1"  # the Retry-After header of an injected 429
        self.token_fields: list[dict] = []  # max_tokens / max_completion_tokens per request
        self.formats: list[dict | None] = []  # the response_format of every request
        # Answer a json_schema response format with a 500 naming it, as llama-cpp-python's
        # server does (it takes {"type": "json_object", "schema": ...}).
        self.refuse_json_schema = False
        self.refuse_every_format = False  # a server that takes no response format at all
        self.finish_reason = "stop"  # "length" makes DSPy log a warning for every answer
        self.field_values: dict = {}  # output field -> the value every answer gives it
        self.echo_request = False  # a refusal quotes the request's Authorization and path
        # Answers that depend on the demos shown: (a text in a demo, a text in the question,
        # output field -> value). A rule applies when some message before the last (DSPy
        # sends demos as earlier turns) holds the first text and the last one the second;
        # later rules win. The effect tests predict scores from these.
        self.demo_rules: list[tuple[str, str, dict]] = []


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with self.state.lock:
            self.state.authorizations.append(self.headers.get("Authorization", ""))
        if self.state.fail_with:
            self._send(self.state.fail_with, {"error": {"message": "test failure"}})
            return
        with self.state.lock:
            self.state.requests += 1
            fault = self.state.faults.pop(0) if self.state.faults else None
            self.state.token_fields.append({k: body[k] for k in ("max_tokens",
                                                                 "max_completion_tokens")
                                            if k in body})
            self.state.formats.append(body.get("response_format"))
        response_format = body.get("response_format")
        if response_format and (self.state.refuse_every_format or (
                self.state.refuse_json_schema and response_format.get("type") == "json_schema")):
            # A careless server echoes the request: its headers (the key) and URL.
            echo = (f" (request: Authorization: {self.headers.get('Authorization')} "
                    f"{self.path})" if self.state.echo_request else "")
            self._send(500, {"error": {"message": "1 validation error: {'loc': ('body', "
                                       "'response_format', 'type'), 'msg': \"Input should be "
                                       "'text' or 'json_object'\"}" + echo}})
            return
        if fault in ("429", "500"):  # "none" in the list lets one request through
            self._send(int(fault), {"error": {"message": f"injected {fault}"}},
                       {"Retry-After": self.state.retry_after} if fault == "429" else {})
            return
        if fault == "timeout":
            time.sleep(4)  # longer than the client's timeout in the tests
        if fault == "prose":  # what a small model says to any request it does not follow
            self._answer(body, "Sure! Here is my answer: it depends.", body.get("messages", []))
            return
        messages = body.get("messages", [])
        prompt = str(messages[-1].get("content", "")) if messages else ""
        if prompt.startswith(GENERATE_PROMPT):
            self.state.prompts.append(prompt)
            time.sleep(self.state.delay)
            self._answer(body, self._generate(prompt, fault, _schema_of(response_format)),
                         messages)
            return
        schema = _schema_of(response_format)
        values = self._values(messages)
        if schema is not None:  # a constrained answer: JSON of the schema
            answer = value_for(schema, "answer")
            if isinstance(answer, dict):
                answer.update({k: v for k, v in values.items() if k in answer})
            self._answer(body, json.dumps(answer), messages)
            return
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        outputs = system.split("Your output fields are:", 1)[-1].split("All interactions", 1)[0]
        fields = _FIELD.findall(outputs)

        def shown(name: str, kind: str) -> str:
            return json.dumps(values[name]) if name in values else answer_for(kind, name)

        text = "".join(f"[[ ## {name} ## ]]\n{shown(name, kind)}\n\n"
                       for name, kind in fields) + "[[ ## completed ## ]]"
        self._answer(body, text, messages)

    def _values(self, messages: list) -> dict:
        """Output field -> the value to answer with: field_values, then the demo rules."""
        values = dict(self.state.field_values)
        if messages and self.state.demo_rules:
            shown = "\n".join(str(m.get("content", "")) for m in messages[:-1])
            asked = str(messages[-1].get("content", ""))
            for in_demo, in_question, fields in self.state.demo_rules:
                if in_demo in shown and in_question in asked:
                    values.update(fields)
        return values

    def _answer(self, body: dict, text: str, messages: list) -> None:
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(text.split())
        with self.state.lock:
            self.state.prompt_tokens += prompt_tokens
            self.state.completion_tokens += completion_tokens
        choices = [{"index": i, "finish_reason": self.state.finish_reason,
                    "message": {"role": "assistant", "content": text}}
                   for i in range(int(body.get("n") or 1))]
        self._send(200, {"id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                         "model": body.get("model", "test"), "choices": choices,
                         "usage": {"prompt_tokens": prompt_tokens,
                                   "completion_tokens": completion_tokens,
                                   "total_tokens": prompt_tokens + completion_tokens}})

    def _generate(self, prompt: str, fault: str | None, schema: dict | None) -> str:
        """tf generate's request: one example per target line; for validate_completeness
        one in the target cell, for another signature one of the schema asked for."""
        if fault == "not_json":
            return "Sorry, I can't help with that."
        examples = []
        completeness = prompt.startswith(f"{GENERATE_PROMPT} validate_completeness:")
        for line in re.findall(r"^Example \d+: .*?it must fall in: (.*)$", prompt, re.MULTILINE):
            cell = dict(part.split(" = ", 1) for part in line.split(", ") if " = " in part)
            with self.state.lock:
                self.state.generated += 1
                n = self.state.generated
            if completeness or schema is None:
                examples.append(completeness_example(n, cell))
            else:
                item = schema["properties"]["examples"]["items"]
                examples.append({**value_for(item, "example", random.Random(n)),
                                 "difficulty": cell.get("difficulty", "medium"),
                                 "category": cell.get("category", "api")})
        if fault == "malformed_one" and examples:
            examples[0] = {"inputs": {"implementation": "x"}}
        if fault == "deep_one" and examples:  # nested past what a validator recurses into
            examples[0]["inputs"]["implementation"] = json.loads("[" * 300 + "]" * 300)
        return "```json\n" + json.dumps({"examples": examples}) + "\n```"

    def _send(self, status: int, payload: dict, headers: dict | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _schema_of(response_format: dict | None) -> dict | None:
    """The JSON Schema a response format asks for, in either spelling."""
    if not response_format:
        return None
    if response_format.get("type") == "json_schema":
        return response_format.get("json_schema", {}).get("schema")
    return response_format.get("schema")


@functools.cache
def _gzip_bomb() -> bytes:
    """50 MB of zeros, gzipped twice: a few KB. Built once: compressing takes a second or
    more, which a client with a 1 s timeout would see as a silent server."""
    import gzip

    return gzip.compress(gzip.compress(b"\0" * 50_000_000))


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a client that gave up (timeout test)
        pass


class LMServer:
    """`with LMServer() as server:` ... `server.api_base` ... `server.state.requests`."""

    def __init__(self):
        self.state = _State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> LMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MisbehavingServer:
    """An HTTP server on 127.0.0.1 that answers tf generate's requests (the ones whose
    prompt is GENERATE_PROMPT's) the way a hostile or broken server would, and every other
    request with a plain "OK", so a reachability probe passes first (with everything=True,
    every request is answered badly).

    behaviour: "trickle_head" (one byte of the status line every 0.2 s, for ever),
    "trickle_body" (a head promising 1 MB, then one byte every 0.2 s) or "endless_chunks"
    (a chunked body that never ends) or "gzip_bomb" (gzip inside gzip, sent although tf asks
    for no compression)."""

    def __init__(self, behaviour: str, everything: bool = False):
        import socket

        self.behaviour = behaviour
        self.everything = everything
        if behaviour == "gzip_bomb":
            _gzip_bomb()  # built before any request, not while the client's timeout runs
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()
        self.bytes_sent = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"

    def __enter__(self) -> MisbehavingServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        with conn:
            try:
                request = self._read_request(conn)
                if not self.everything and GENERATE_PROMPT.encode() not in request:
                    body = json.dumps({"id": "x", "object": "chat.completion", "created": 0,
                                       "model": "m", "choices": [{
                                           "index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": "OK"}}]})
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()))
                    return
                getattr(self, "_" + self.behaviour)(conn)
            except OSError:  # the client gave up, as it should
                return

    @staticmethod
    def _read_request(conn) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < length:
            body += conn.recv(65536)
        return body

    def _trickle(self, conn, data: bytes) -> None:
        for byte in data:
            if self.stopped.wait(0.2):
                return
            conn.sendall(bytes([byte]))
            self.bytes_sent += 1

    def _trickle_head(self, conn) -> None:
        self._trickle(conn, b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 60000)

    def _trickle_body(self, conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000000\r\n\r\n")
        self._trickle(conn, b" " * 1000000)

    def _gzip_bomb(self, conn) -> None:
        body = _gzip_bomb()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Encoding: gzip, gzip\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        self.bytes_sent += len(body)

    def _endless_chunks(self, conn) -> None:
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        while not self.stopped.is_set():
            conn.sendall(chunk)
            self.bytes_sent += len(chunk)
