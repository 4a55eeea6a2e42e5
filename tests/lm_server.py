"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for the tests.

It reads the output fields DSPy's ChatAdapter asks for (the "Your output fields are:"
list in the system message, with their Python types) and answers every one with a value
of that type, deterministically, in the adapter's `[[ ## field ## ]]` format. It counts
requests and tokens. Nothing here reaches any other host.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.fail_with: int | None = None  # an HTTP status to answer every request with


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.state.fail_with:
            self._send(self.state.fail_with, {"error": {"message": "test failure"}})
            return
        messages = body.get("messages", [])
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        outputs = system.split("Your output fields are:", 1)[-1].split("All interactions", 1)[0]
        fields = _FIELD.findall(outputs)
        text = "".join(f"[[ ## {name} ## ]]\n{answer_for(kind, name)}\n\n"
                       for name, kind in fields) + "[[ ## completed ## ]]"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(text.split())
        with self.state.lock:
            self.state.requests += 1
            self.state.prompt_tokens += prompt_tokens
            self.state.completion_tokens += completion_tokens
        choices = [{"index": i, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text}}
                   for i in range(int(body.get("n") or 1))]
        self._send(200, {"id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                         "model": body.get("model", "test"), "choices": choices,
                         "usage": {"prompt_tokens": prompt_tokens,
                                   "completion_tokens": completion_tokens,
                                   "total_tokens": prompt_tokens + completion_tokens}})

    def _send(self, status: int, payload: dict):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LMServer:
    """`with LMServer() as server:` ... `server.api_base` ... `server.state.requests`."""

    def __init__(self):
        self.state = _State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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
