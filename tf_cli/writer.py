"""Every change to a dataset file goes through here, so none can lose a line.

- One lock per file (`<file>.lock` beside it), held for the whole read-modify-write. Locks
  are taken in path order, so two commands that need the same two files cannot deadlock;
  a lock that stays busy is a clear error before anything is written.
- `append` writes with one write() and fsync; if it fails (disk full, file-size limit) the
  file is cut back to its old length, so no torn line is ever left behind.
- `rewrite` streams the file through a change function into a temporary file and renames
  it into place. Lines it cannot parse, and lines the change leaves alone, are copied byte
  for byte: a rewrite never drops or reformats what it did not mean to touch.
- `move` takes an example from one file to another under both locks: it is appended to the
  target first and removed from the source second, so at every instant it is in at least
  one file. A crash between the two leaves the decided copy in the target and a stale
  pending copy in the source; `settle_moves` (run by `tf review`) removes the stale copy,
  and counting ignores it meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tf_cli.errors import EXIT_CHECK_FAILED, TfError
from tf_cli.file_safety import require_regular
from tf_cli.records import (
    BOM,
    DEFAULT_MAX_LINE_BYTES,
    atomic_writer,
    canonical_bytes,
    parse_line,
    read_lines,
)
from tf_cli.words import plural

DEFAULT_LOCK_TIMEOUT = 60.0  # seconds; TF_LOCK_TIMEOUT overrides
_COPY_CHUNK = 1 << 20


class WriteFailed(TfError):
    """A dataset file could not be changed; it was left exactly as it was."""

    exit_code = EXIT_CHECK_FAILED


def lock_timeout() -> float:
    try:
        return float(os.environ.get("TF_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


def lock_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.lock")


def _lock(path: Path):
    from filelock import FileLock

    # One lock object per file and process (is_singleton), re-entrant within a thread, so a
    # command holding a file's lock can call append or rewrite on it; other threads and
    # processes wait.
    return FileLock(lock_path(path), timeout=lock_timeout(), is_singleton=True)


@contextmanager
def locked(*paths: Path) -> Iterator[None]:
    """Hold the writers' lock of every path until the block ends."""
    from filelock import Timeout

    ordered = sorted({Path(os.path.abspath(p)) for p in paths})
    with ExitStack() as stack:
        for path in ordered:
            require_regular(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = _lock(path)
            try:
                lock.acquire()
            except Timeout:
                raise WriteFailed(
                    f"{_shown(path)}: another process has been writing it for "
                    f"{lock.timeout:g} s (its lock file {lock_path(path).name} is held); "
                    "nothing was changed",
                    hint="wait for the other tf command to finish and run this again; set "
                         "TF_LOCK_TIMEOUT to wait longer") from None
            except OSError as exc:  # e.g. a read-only folder (Timeout is an OSError too)
                raise WriteFailed(f"{_shown(path)}: cannot take its lock "
                                  f"({lock_path(path).name}): {exc.strerror or exc}; nothing "
                                  "was changed") from None
            stack.callback(lock.release)
        yield


def append(path: Path, lines: list[bytes]) -> int:
    """Append canonical lines (each ending in "\\n") under the file's lock; returns how many.

    All lines go out in one write(), so concurrent writers never interleave. A write that
    fails leaves the file exactly as it was.
    """
    if not lines:
        return 0
    payload = b"".join(lines)
    with locked(path):
        _refuse_torn_end(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            if size and _last_byte(path) != b"\n":
                payload = b"\n" + payload
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except BaseException as exc:
                _cut_back(fd, size)
                if isinstance(exc, OSError):
                    raise WriteFailed(f"{_shown(path)}: cannot append "
                                      f"{plural(len(lines), 'example')}: "
                                      f"{exc.strerror or exc}; the file is "
                                      "unchanged") from None
                raise
        finally:
            os.close(fd)
    return len(lines)


def append_records(path: Path, records: Iterable[dict]) -> int:
    return append(path, [canonical_bytes(r) + b"\n" for r in records])


def append_atomically(path: Path, lines: list[bytes]) -> int:
    """Append a large batch by copying the file and the new lines to a temporary file and
    renaming it: even a process killed mid-write leaves the old file or the new one."""
    if not lines:
        return 0
    with locked(path):
        _refuse_torn_end(path)
        with _replacing(path) as out:
            if path.exists():
                with open(path, "rb") as existing:
                    while chunk := existing.read(_COPY_CHUNK):
                        out.write(chunk)
                if path.stat().st_size and _last_byte(path) != b"\n":
                    out.write(b"\n")
            for line in lines:
                out.write(line)
    return len(lines)


def write_all(path: Path, records: Iterable[dict]) -> None:
    """Replace the whole file with `records` in canonical form (the caller holds the lock
    and has read every line, e.g. `tf fmt`)."""
    with _replacing(path) as out:
        for record in records:
            out.write(canonical_bytes(record))
            out.write(b"\n")


def rewrite(path: Path, change: Callable[[dict], dict | None],
            max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> int:
    """Pass every record of `path` through `change` (return it unchanged to keep it, a new
    record to replace it, None to remove it) under the lock; returns how many changed.

    Unchanged records and lines that cannot be parsed are copied byte for byte."""
    changed = 0
    with locked(path), open(path, "rb") as source, _replacing(path) as out:
        for number, raw in enumerate(_raw_lines(source, max_line_bytes), 1):
            if isinstance(raw, _LongLine):
                raw.copy_to(out)
                continue
            terminated = raw.endswith(b"\n")
            body = raw[:-1] if terminated else raw
            if number == 1 and body.startswith(BOM):  # read as read_lines does; a changed
                body = body[len(BOM):]                # first line is written without it
            line = parse_line(number, body, terminated)
            if line.record is None:
                out.write(raw)
                continue
            new = change(line.record)
            if new is line.record:
                out.write(raw)
                continue
            changed += 1
            if new is not None:
                out.write(canonical_bytes(new) + b"\n")
    return changed


def move(source: Path, target: Path, decided: dict[str, dict],
         shown: dict[str, dict]) -> None:
    """Put each decided example (id -> the example after the decision) into `target` and
    take it out of `source`, under both locks, crash-safe in that order. `shown` holds each
    example as the decision saw it: if the source's copy differs now, nothing is changed."""
    with locked(source, target):
        expect(source, shown)
        held = _records_in(target, decided)
        clash = next((i for i in held if not same_example(held[i], decided[i])), None)
        if clash:
            raise WriteFailed(f"{_shown(target)} already has a different example with id "
                              f"{clash}; nothing was changed",
                              hint="give one of them a new id, then decide again")
        # Already in the target: a move a crash interrupted; only the removal is left.
        append_records(target, [r for i, r in decided.items() if i not in held])
        try:
            rewrite(source, lambda r: None if r.get("id") in decided else r)
        except WriteFailed as exc:
            raise WriteFailed(f"{exc.message}; the decided examples are in "
                              f"{_shown(target)} already, and the next tf review removes "
                              "their pending copies") from None


def replace_one(path: Path, shown: dict, new: dict) -> None:
    """Replace the example `shown` (as the caller read it) with `new`, under the lock."""
    with locked(path):
        expect(path, {shown["id"]: shown})
        rewrite(path, lambda r: new if r.get("id") == shown["id"] else r)


def expect(path: Path, shown: dict[str, dict]) -> None:
    """Refuse, changing nothing, unless each id is on exactly one line of `path` and that
    line still holds the example as it was shown (call it holding the file's lock)."""
    copies: dict[str, list[tuple[int, dict]]] = {i: [] for i in shown}
    if path.exists():
        for line in read_lines(path):
            record_id = line.record.get("id") if line.record is not None else None
            if line.record is not None and isinstance(record_id, str) and record_id in copies:
                copies[record_id].append((line.number, line.record))
    for record_id, found in copies.items():
        if not found:
            raise WriteFailed(f"{_shown(path)}: example {record_id} is no longer there "
                              "(another review moved or removed it); nothing was changed")
        if len(found) > 1:
            lines = " and ".join(str(number) for number, _ in found)
            raise WriteFailed(f"{_shown(path)}: id {record_id} is on lines {lines}; nothing "
                              "was changed", hint="give one of them a new id first (tf "
                              "validate lists duplicate ids)")
        if found[0][1] != shown[record_id]:
            raise WriteFailed(f"{_shown(path)}:{found[0][0]}: example {record_id} changed "
                              "since it was shown (another review decided or edited it); "
                              "nothing was changed", hint="run tf review again")


def same_example(a: dict, b: dict) -> bool:
    """The same example, whatever its metadata says (two copies of one review decision)."""
    return a.get("inputs") == b.get("inputs") and a.get("outputs") == b.get("outputs")


def _records_in(path: Path, ids) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {line.record["id"]: line.record for line in read_lines(path)
            if line.record is not None and isinstance(line.record.get("id"), str)
            and line.record["id"] in ids}


@contextmanager
def _replacing(path: Path):
    try:
        with atomic_writer(path) as out:
            yield out
    except OSError as exc:
        raise WriteFailed(f"{_shown(path)}: cannot write it: {exc.strerror or exc}; the file "
                          "is unchanged") from None


class _LongLine:
    """A line over the length limit: copied through in chunks, never held in memory."""

    def __init__(self, source, head: bytes):
        self.source, self.head = source, head

    def copy_to(self, out) -> None:
        chunk = self.head
        while True:
            out.write(chunk)
            if chunk.endswith(b"\n"):
                return
            chunk = self.source.readline(_COPY_CHUNK)
            if not chunk:
                return


def _raw_lines(source, limit: int) -> Iterator[bytes | _LongLine]:
    while raw := source.readline(limit + 2):
        if len(raw) > limit + 1 and not raw.endswith(b"\n"):
            yield _LongLine(source, raw)
        else:
            yield raw


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


def _refuse_torn_end(path: Path) -> None:
    """A last line without "\\n" that is not JSON is what an interrupted write leaves;
    appending after it would bury it mid-file, so stop and say where it is."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if not size or _last_byte(path) == b"\n":
        return
    with open(path, "rb") as f:
        f.seek(max(0, size - DEFAULT_MAX_LINE_BYTES))
        tail = f.read().rsplit(b"\n", 1)[-1]
    line = parse_line(0, tail, terminated=False)
    if line.record is None:
        number = _count_lines(path)
        raise WriteFailed(f"{_shown(path)}:{number}: the last line is cut off (no newline, "
                          f"not a whole JSON object: {line.problem}); nothing was appended",
                          hint="an earlier write was interrupted: complete or delete that "
                               "line, then run this again")


def _count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as f:
        while chunk := f.read(_COPY_CHUNK):
            count += chunk.count(b"\n")
    return count + 1


def _cut_back(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass  # nothing more can be done; the error that got us here is reported


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
