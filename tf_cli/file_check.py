"""One dataset file (or a byte range of it) against a signature: the hot loop of tf validate.

A large file is cut into line-aligned ranges checked by forked workers, one per core
(tf_cli/parallel.py); their results are joined in file order, so problems and line numbers
are exactly those of one process reading the whole file.
"""

from __future__ import annotations

import gc
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from tf_cli import parallel
from tf_cli.problems import Problem, json_path
from tf_cli.records import read_lines
from tf_cli.schemas import Signature

# A pull request decides how many problems a file has: one line of 250,000 wrong list items
# is 250,000 schema errors, and 30 MB of blank lines 30 million problems. Listing them all
# took gigabytes and minutes; past these counts tf says how many more there are, and stops
# checking the file.
MAX_EXAMPLE_PROBLEMS = 20  # listed per example
MAX_FILE_PROBLEMS = 10_000  # found per file (or range), listed or not


@dataclass
class FileCheck:
    """What checking a file (or a range of it) found."""

    records: int = 0
    lines: int = 0  # physical lines read: the next range's line numbers start after them
    problems: list[Problem] = field(default_factory=list)
    id_hashes: array = field(default_factory=lambda: array("q"))
    # With collect_ids: the id of every line (None where a line has none), and whether
    # every line was in canonical form. What tf_cli/incremental.py records.
    ids: list[str | None] | None = None
    canonical: bool = True
    found: int = 0  # problems found, MAX_EXAMPLE_PROBLEMS' unlisted ones included
    stopped: bool = False  # MAX_FILE_PROBLEMS reached: the lines after were not read

    def add(self, later: FileCheck) -> None:
        """Append the result of the range that follows this one."""
        if self.stopped:  # one process reading the whole file would not have read it
            return
        self.found += later.found
        self.stopped = later.stopped or self.found >= MAX_FILE_PROBLEMS
        self.problems.extend(replace(p, line=p.line + self.lines) if p.line else p
                             for p in later.problems)
        self.id_hashes.extend(later.id_hashes)
        if self.ids is not None and later.ids is not None:
            self.ids.extend(later.ids)
        self.records += later.records
        self.lines += later.lines
        self.canonical = self.canonical and later.canonical


def check_file(path: Path, shown: str, signature: Signature, max_line_bytes: int,
               workers: int = 1, start: int = 0, end: int | None = None,
               collect_ids: bool = False) -> FileCheck:
    """Check bytes [start, end) of the file (default: all of it) in `workers` processes
    (parallel.workers_for says how many); line numbers count from `start`."""
    check = _RangeCheck(shown, max_line_bytes, collect_ids)
    if workers == 1:
        result = check.run(signature, path, start, end)
    else:
        global _worker_signature
        _worker_signature = signature  # the forked workers inherit it
        try:
            parts = parallel.map_ranges(check, path, workers, start, end)
        finally:
            _worker_signature = None
        result = FileCheck(ids=[] if collect_ids else None)
        for part in parts:  # in file order
            result.add(part)
    if result.stopped:
        result.problems.append(Problem(
            shown, f"tf stopped checking this file after {MAX_FILE_PROBLEMS:,} problems: fix "
            "those (or the cause they share) and run it again"))
    return result


_worker_signature: Signature | None = None  # what a forked worker checks its ranges against


@dataclass(frozen=True)
class _RangeCheck:
    """Checks one byte range of a file (picklable for the workers: they inherit the
    signature)."""

    shown: str
    max_line_bytes: int
    collect_ids: bool

    def __call__(self, path: Path, start: int, end: int) -> FileCheck:
        assert _worker_signature is not None, "set by check_file before the fork"
        return self.run(_worker_signature, path, start, end)

    def run(self, signature: Signature, path: Path, start: int, end: int | None) -> FileCheck:
        result = FileCheck(ids=[] if self.collect_ids else None)
        with _gc_paused():
            _check_lines(path, self.shown, signature, result, self.max_line_bytes, start, end)
        return result


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while streaming records.

    Every parsed record is an acyclic tree freed by reference counting as soon as the next
    line replaces it, so the collector finds nothing; yet the thousands of dicts allocated
    per second trigger it constantly, costing about 10% of tf validate's time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_lines(path: Path, shown: str, signature: Signature, result: FileCheck,
                 max_line_bytes: int, start: int, end: int | None) -> None:
    """The hot loop of tf validate."""
    validator, checks = signature.quick_check
    is_valid, add_hash, problems = validator.is_valid, result.id_hashes.append, result.problems
    ids = result.ids
    count = number = 0
    for number, record, problem, _, canonical in read_lines(path, max_line_bytes, start, end):
        if record is None:
            problems.append(Problem(shown, problem or "unreadable line", line=number))
            if ids is not None:
                ids.append(None)
                result.canonical = False
            result.found += 1
            if result.found >= MAX_FILE_PROBLEMS:
                result.stopped = True
                break
            continue
        count += 1
        # Fast path: a valid record costs one is_valid call and one call per Python rule.
        broken = not is_valid(record)
        if not broken:
            for check in checks:
                if check(record) is not None:
                    broken = True
                    break
        if broken:
            result.found += _add_example_problems(problems, signature, record, shown, number)
            if result.found >= MAX_FILE_PROBLEMS:
                result.stopped = True
                break
        record_id = record.get("id")
        if type(record_id) is str:
            add_hash(hash(record_id))
        if ids is not None:
            ids.append(record_id if type(record_id) is str else None)
            if not canonical:
                result.canonical = False
    result.records, result.lines = count, number


def _add_example_problems(problems: list[Problem], signature: Signature, record: dict,
                          shown: str, line: int) -> int:
    """Append the example's problems (at most MAX_EXAMPLE_PROBLEMS and a line saying how
    many more); returns how many it has."""
    found, total = _example_problems(signature, record, shown, line)
    problems.extend(found)
    return total


def example_problems(signature: Signature, record: dict, path: str = "<example>",
                     line: int | None = None) -> list[Problem]:
    """The schema problems of one example (the first MAX_EXAMPLE_PROBLEMS, then how many
    more); if it has none, every rule it breaks."""
    return _example_problems(signature, record, path, line)[0]


def _example_problems(signature: Signature, record: dict, path: str,
                      line: int | None) -> tuple[list[Problem], int]:
    problems, total = [], 0
    for error in signature.validator.iter_errors(record):
        total += 1
        if total <= MAX_EXAMPLE_PROBLEMS:
            problems.append(Problem(path, error.message, line=line,
                                    pointer=json_path(error.instance_path)))
    if total > MAX_EXAMPLE_PROBLEMS:
        problems.append(Problem(path, f"{total - MAX_EXAMPLE_PROBLEMS:,} more schema problems "
                                "in this example are not listed", line=line))
    if problems:
        return problems, total
    broken = 0
    for rule in signature.rules:
        failure = rule.check(record)
        if failure is not None:
            broken += 1
            if broken <= MAX_EXAMPLE_PROBLEMS:
                problems.append(Problem(
                    path, f"rule {rule.name}: {failure.detail} (rule: {rule.description})",
                    line=line, pointer=failure.pointer, rule=rule.name))
    if broken > MAX_EXAMPLE_PROBLEMS:
        problems.append(Problem(path, f"{broken - MAX_EXAMPLE_PROBLEMS:,} more broken rules in "
                                "this example are not listed", line=line))
    return problems, broken
