"""tf's one retry policy for LM calls (`retrying`), which waits and when (`retry_wait`),
and who hears of each failed attempt (`reporting_attempts`). Split from tf_cli.lm, whose
client runs every call through `retrying`; dspy is imported only inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

MAX_ATTEMPTS = 4  # a call and three retries


def retry_wait(exc: Exception, attempt: int, cap: float,
               after_timeout: bool = True) -> float | None:
    """Seconds to wait before retrying after `exc` (`attempt` counts from 0), or None when
    it is not worth retrying. A server's Retry-After is honoured up to `cap`: one that
    asks for 28 hours would otherwise stop the command for 28 hours. A request that ran
    past lm.deadline or answered more than lm.max_answer_bytes is not retried: the same
    server would do it again; nor one that timed out when `after_timeout` is False
    (`retries_after_timeout`), nor one whose response format the server refused (the
    client steps down instead)."""
    from dspy.utils.exceptions import is_retryable_lm_error

    from tf_cli.lm_transport import bounded_cause
    from tf_cli.structured import refused_format

    if not is_retryable_lm_error(exc) or bounded_cause(exc) is not None or \
            refused_format(exc) or (not after_timeout and timed_out(exc)):
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


def retrying(call: Callable[[], T], cap: float, attempts: int = MAX_ATTEMPTS,
             after_timeout: bool = True) -> T:
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
            wait = retry_wait(exc, attempt, cap, after_timeout)
            retry = wait is not None and attempt + 1 < attempts
            if report is not None:
                report(exc, attempt, wait if retry else None)
            if not retry or wait is None:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what caused it, and so on (each once: a chain can loop)."""
    seen = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        yield link
        seen.add(id(link))
        link = link.__cause__ or link.__context__


def timed_out(exc: BaseException) -> bool:
    """True when the request failed because no byte came within lm.timeout."""
    from dspy.utils.exceptions import LMTimeoutError

    from tf_cli.lm_transport import DeadlineExceeded

    for link in causes(exc):
        if isinstance(link, DeadlineExceeded):
            return False  # lm.deadline, reported as such
        if isinstance(link, LMTimeoutError | TimeoutError) or \
                type(link).__name__ in ("ReadTimeout", "WriteTimeout", "PoolTimeout"):
            return True
    return False
