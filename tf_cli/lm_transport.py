"""The HTTP transport tf hands DSPy's native engine: every request gets a total deadline
and a cap on the size of the answer.

lm15's own transport (the one inside DSPy 3.4) bounds each wait for the next byte, never
the whole request: a server that sends one byte a second keeps a call alive for ever, and
an endless chunked answer grows memory until the machine runs out. Both are what a
hostile or broken server does, and `lm.api_base` may come from a pull request.

Built on lm15's `StdlibTransport` and plugged in through `RouterConfig(transport=...)`,
which lm15 offers for exactly this. Imported only by `tf_cli.lm.make_lm` (dspy is slow to
import).
"""

from __future__ import annotations

import socket
import threading
import time

from dspy._vendor.lm15.transports import (
    ProtocolError,
    ReadTimeout,
    StdlibTransport,
    TransportError,
    TransportRequest,
    TransportResponse,
)


class DeadlineExceeded(ReadTimeout):
    """The whole request took longer than `lm.deadline`."""


class AnswerTooLarge(ProtocolError):
    """The answer's body grew past `lm.max_answer_bytes`."""


class EncodedAnswer(ProtocolError):
    """The server compressed its answer although tf asked for none. lm15 would inflate every
    layer of it with no output limit: a few KB of nested gzip become gigabytes."""


class _Watch:
    """One request's deadline. At the deadline it shuts the request's socket down, which
    wakes a read blocked on a server that trickles (closing it would not)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def arm(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def finish(self) -> bool:
        """Stop watching; True when the deadline had already cut the request short."""
        self._timer.cancel()
        with self._lock:
            self._done = True
            return self.expired or time.monotonic() > self.ends

    def error(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"no complete answer within {self.seconds:g} s (lm.deadline); the server is too "
            "slow or never finishes: raise lm.deadline in params.yaml if the model needs longer")


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by its owner
        pass


class BoundedTransport(StdlibTransport):
    """`StdlibTransport` with a total deadline per request and a cap on the answer body,
    that spells the response format as the run's constraint says (tf_cli.structured) and
    counts the requests it sends."""

    def __init__(self, *, deadline: float, max_answer_bytes: int, constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.deadline = deadline
        self.max_answer_bytes = max_answer_bytes
        self.constraint = constraint
        self.requests = 0  # sent, whatever became of them
        self._count_lock = threading.Lock()
        self._current = threading.local()  # the watch of the request this thread sends

    def copy(self) -> BoundedTransport:
        return type(self)(
            deadline=self.deadline, max_answer_bytes=self.max_answer_bytes,
            constraint=self.constraint,
            connect_timeout=self._connect_timeout, read_timeout=self._read_timeout,
            write_timeout=self._write_timeout, pool_timeout=self._pool_timeout,
            max_connections=self._max_connections, verify=self._verify,
            ca_bundle=self._ca_bundle, user_agent=self._user_agent, proxy=self._proxy,
            trust_env=self._trust_env)

    def stream(self, request: TransportRequest) -> TransportResponse:
        if self.constraint is not None and request.body:
            request.body = _spelled(request.body, self.constraint.mode)
        with self._count_lock:
            self.requests += 1
        watch = _Watch(self.deadline)
        # A silent server then fails at the deadline too, not only a trickling one.
        request.read_timeout = min(request.read_timeout or self._read_timeout, self.deadline)
        # Answers are a few KB: ask for them uncompressed, and refuse any other (below).
        request.headers = [(k, v) for k, v in request.headers
                           if k.lower() != "accept-encoding"] + [("Accept-Encoding", "identity")]
        self._current.watch = watch
        try:
            inner = super().stream(request)
        except TransportError as exc:
            if watch.finish():
                raise watch.error() from exc
            raise
        finally:
            self._current.watch = None
        encoding = (inner.header("content-encoding") or "identity").strip().lower()
        if encoding != "identity":
            watch.finish()
            inner.close()
            raise EncodedAnswer(f"the server compressed its answer ({encoding[:40]}) although tf "
                                "asked for none (Accept-Encoding: identity); use a server that "
                                "honours it")
        return TransportResponse(
            status=inner.status, reason=inner.reason, headers=inner.headers,
            http_version=inner.http_version, chunks=self._bounded(inner, watch),
            release=lambda _consumed: (watch.finish(), inner.close()))

    def _send_request(self, conn, *args, **kwargs):
        # The one place a request meets its socket, new or reused from the pool.
        watch = getattr(self._current, "watch", None)
        if watch is not None:
            watch.arm(conn.sock)
        return super()._send_request(conn, *args, **kwargs)

    def _bounded(self, inner: TransportResponse, watch: _Watch):
        size = 0
        try:
            for chunk in inner:
                size += len(chunk)
                if size > self.max_answer_bytes:
                    raise AnswerTooLarge(
                        f"the answer passed {self.max_answer_bytes} bytes (lm.max_answer_bytes) "
                        "and was cut off; raise lm.max_answer_bytes in params.yaml if a real "
                        "answer is that long")
                if time.monotonic() > watch.ends:
                    raise watch.error()
                yield chunk
        except TransportError as exc:
            if watch.finish() and not isinstance(exc, AnswerTooLarge | DeadlineExceeded):
                raise watch.error() from exc
            raise
        finally:
            inner.close()
        # A body that ends at EOF looks complete when the deadline shut the socket.
        if watch.finish():
            raise watch.error()


def _spelled(body: bytes, mode: str) -> bytes:
    """The request body with its response format in `mode`'s spelling."""
    if b'"response_format"' not in body:
        return body
    import orjson

    from tf_cli.structured import spell

    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    return orjson.dumps(payload) if isinstance(payload, dict) and spell(payload, mode) else body


def bounded_cause(exc: BaseException) -> TransportError | None:
    """The deadline, size or encoding error behind an LM error DSPy raised, if any."""
    from tf_cli.lm_retry import causes

    return next((link for link in causes(exc)
                 if isinstance(link, DeadlineExceeded | AnswerTooLarge | EncodedAnswer)), None)
