"""Large files checked on every core: byte ranges that end on line boundaries, one worker
process per range.

Checking a line is parsing and validating it: CPU-bound work that holds the GIL, so threads
would not help. A file of PARALLEL_FROM_BYTES or more is cut into ranges, each ending just
after a "\\n", and worker processes check them; the caller adds up the results in range
order, so line numbers and the order of problems are those of one process reading the
whole file. Smaller files (a pre-commit hook's usual case) stay in the calling process:
starting workers costs tens of milliseconds.

Workers are forked, so they share what the caller compiled (schemas, rules) and its
string hashes (ids are compared by hash across ranges). A caller running other threads
checks in its own process instead: forking then could copy a lock some thread holds.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# Measured on 2 cores, tf validate of 2 KB examples, one process / two: 9 MB 0.34 / 0.40 s,
# 19 MB 0.55 / 0.53 s, 37 MB 0.70 / 0.63 s, 93 MB 0.86 / 0.74 s, 373 MB 2.24 / 1.74 s.
PARALLEL_FROM_BYTES = 16 << 20
RANGES_PER_WORKER = 4  # smaller ranges even out a worker slowed by a busy core
MAX_RANGE_BYTES = 64 << 20  # about 0.3 s of work: what Ctrl-C waits for at most
_SCAN = 1 << 16

Result = TypeVar("Result")
# fork: Linux and the BSDs (macOS has it, but its system libraries are not safe to fork)
_CAN_FORK = hasattr(os, "fork") and sys.platform != "darwin"


def usable_cores() -> int:
    """The cores this process may run on (taskset and container limits included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(size: int, jobs: int | None = None) -> int:
    """How many worker processes to check `size` bytes of a file with (at most `jobs`,
    default one per usable core); 1 means "in this process"."""
    workers = usable_cores() if jobs is None else jobs
    if workers < 2 or size < PARALLEL_FROM_BYTES or not _CAN_FORK \
            or threading.active_count() > 1:
        return 1
    # each range at least half the threshold: more workers than that only add start-up
    return min(workers, max(2, size * 2 // PARALLEL_FROM_BYTES))


def line_ranges(path: Path, parts: int, start: int = 0,
                end: int | None = None) -> list[tuple[int, int]]:
    """About `parts` (start, end) byte ranges covering bytes [start, end) of the file (start
    at a line start; end just after a "\n", or the end of the file), each range ending just
    after a "\n" (the last one at `end`)."""
    end = path.stat().st_size if end is None else end
    bounds = [start]
    with open(path, "rb") as f:
        for part in range(1, parts):
            # a "\n" at `at` ends a line: the range ends just after it
            at = max(start + (end - start) * part // parts, bounds[-1] + 1) - 1
            f.seek(at)
            while block := f.read(_SCAN):
                found = block.find(b"\n")
                if found >= 0:
                    bounds.append(at + found + 1)
                    break
                at += len(block)
            else:  # no line ends after this point: the last range takes the rest
                break
            if bounds[-1] >= end:
                bounds.pop()
                break
    ends = [*bounds[1:], end]
    return [(first, last) for first, last in zip(bounds, ends, strict=True) if last > first]


def map_ranges(check: Callable[[Path, int, int], Result], path: Path, workers: int,
               start: int = 0, end: int | None = None) -> list[Result]:
    """check(path, first, last) for every range of bytes [start, end) of the file, in
    `workers` forked processes (workers_for says how many), results in file order."""
    import multiprocessing  # here, not at the top: tf validate on a small file never needs it
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    size = (path.stat().st_size if end is None else end) - start
    ranges = line_ranges(path, max(workers * RANGES_PER_WORKER, size // MAX_RANGE_BYTES),
                         start, end)
    firsts, lasts = [r[0] for r in ranges], [r[1] for r in ranges]
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_ctrl_c,
                               mp_context=multiprocessing.get_context("fork"))
    try:
        # The first submit forks the workers. A Ctrl-C that lands inside fork() raises in an
        # at-fork hook, where Python prints and drops it (seen: the check then ran on and
        # exited 0), so it waits here until the pool is up and is raised below.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            results = pool.map(check, [path] * len(ranges), firsts, lasts)  # submits all
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        return list(results)
    except BrokenProcessPool:  # a worker was killed (out of memory?): do it here instead
        return [check(path, first, last) for first, last in ranges]
    finally:  # on Ctrl-C too: the ranges not started are dropped, not waited for
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_ctrl_c() -> None:
    # Ctrl-C is the parent's to handle: it stops the pool. Workers printing a traceback
    # each would bury its message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while forking
