"""JSONL on disk: streaming reads with line numbers, the canonical form, atomic writes.

Canonical form: one compact JSON object per line, keys sorted, UTF-8 unescaped, "\\n"
after every line, no byte-order mark, no blank lines. Line order is insertion order and
is never changed here.

The reader is the hot path of `tf validate`, so a well-formed canonical line costs one
orjson parse and one orjson dump; the slow checks (duplicate keys, error diagnosis) run
only for lines that are not canonical.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, NamedTuple

import orjson

BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_LINE_BYTES = 1 << 20  # 1 MiB: far above any real example, far below trouble
_CHUNK = 1 << 20
MAX_WRITE_DEPTH = 254  # orjson.dumps refuses deeper nesting
_CANONICAL = orjson.OPT_SORT_KEYS
_BAD_LITERALS = ("NaN", "Infinity", "-Infinity")
_new_line = tuple.__new__  # builds a Line without NamedTuple's slower Python-level __new__
_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number",
                    bool: "boolean", type(None): "null"}


class Line(NamedTuple):
    """One physical line of a JSONL file.

    Exactly one of `record` and `problem` is set. `fixable` problems (a byte-order mark,
    a blank line) are ones `tf fmt` repairs; `canonical` is False when the bytes on disk
    differ from the canonical form of the record.
    """

    number: int
    record: dict | None
    problem: str | None
    fixable: bool = False
    canonical: bool = True


def canonical_bytes(record: dict) -> bytes:
    """The canonical encoding of one record, without the trailing newline."""
    return orjson.dumps(record, option=_CANONICAL)


BLANK_LINE = "blank line: every line must hold one JSON object (tf fmt removes blank lines)"


def read_lines(path: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
               start: int = 0, end: int | None = None) -> Iterator[Line]:
    """Yield every line of a JSONL file, streaming: memory stays bounded by max_line_bytes.

    `start` (a byte offset at the beginning of a line) skips what was read before; line
    numbers then count from there. `end` (an offset just after a "\n", or None for the end
    of the file) stops there: a worker of tf validate reads one such range.

    The hot loop of tf validate: a canonical line costs one readline, one orjson parse and
    one orjson dump, compared in place; anything else takes the careful path (parse_line).
    """
    left = math.inf if end is None else end - start
    with open(path, "rb") as f:
        f.seek(start)
        readline, loads, dumps = f.readline, orjson.loads, orjson.dumps
        number = 0
        while left > 0 and (raw := readline(max_line_bytes + 1)):
            left -= len(raw)
            number += 1
            if raw[-1] != 10:  # no "\n": over the limit, or the file's last line
                if len(raw) > max_line_bytes:
                    size = len(raw) + _skip_rest_of_line(readline)
                    left -= size - len(raw)
                    yield Line(number, None, f"line is {size:,} bytes, over the "
                               f"{max_line_bytes:,}-byte limit: split the example, or raise "
                               "--max-line-bytes if it is really meant")
                else:
                    yield parse_line(number, raw, terminated=False)
                continue
            if raw == b"\n":  # one byte a line, so a file can hold millions: no failed parse
                yield Line(number, None, BLANK_LINE, fixable=True)
                continue
            if number == 1 and not start and raw.startswith(BOM):
                yield Line(1, None, "byte-order mark at the start of the file: save it "
                           "as UTF-8 without BOM (tf fmt removes it)", fixable=True)
                raw = raw[len(BOM):]
            try:
                record = loads(raw)
                if type(record) is dict:
                    canonical = dumps(record, option=_CANONICAL)
                    # the line is the canonical form and its "\n", compared without a copy
                    if len(canonical) + 1 == len(raw) and raw.startswith(canonical):
                        yield _new_line(Line, (number, record, None, False, True))
                        continue
            except (orjson.JSONDecodeError, TypeError):  # TypeError: too deep to write
                pass
            yield parse_line(number, raw[:-1], terminated=True)


def _skip_rest_of_line(readline) -> int:
    """Read past the rest of an over-long line (its "\n" included) without holding it;
    the bytes skipped."""
    skipped = 0
    while chunk := readline(_CHUNK):
        skipped += len(chunk)
        if chunk[-1] == 10:
            break
    return skipped


def parse_line(number: int, body: bytes, terminated: bool) -> Line:
    """The careful path for a line that is not canonical: say exactly what is wrong."""
    ends_well = terminated  # a canonical line ends with exactly one "\n"
    if body.endswith(b"\r"):
        body, ends_well = body[:-1], False
    try:
        record = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if not body.strip():
            return Line(number, None, BLANK_LINE, fixable=True)
        return Line(number, None, _diagnose(body, exc))
    if type(record) is not dict:
        kind = _JSON_TYPE_NAMES.get(type(record), "value")
        return Line(number, None, f"expected one JSON object per line, found a JSON {kind}")
    try:
        canonical = canonical_bytes(record)
    except TypeError:  # orjson reads 1024 levels of nesting but writes only 254
        return Line(number, None, f"JSON nested more than {MAX_WRITE_DEPTH} levels deep: tf "
                    "could not write it back; flatten the record")
    if ends_well and canonical == body:
        return Line(number, record, None)
    trouble = _exactness_problem(body, record)
    if trouble:
        return Line(number, None, trouble)
    return Line(number, record, None, canonical=False)


def _diagnose(body: bytes, exc: orjson.JSONDecodeError) -> str:
    """Turn an orjson error into a message that says what is wrong and how to fix it."""
    if body.startswith(BOM):
        return "byte-order mark in the middle of the file: remove it"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return (f"invalid UTF-8 (byte 0x{body[err.start]:02x} at byte {err.start + 1}): "
                "re-save the file as UTF-8")
    column = exc.colno
    if exc.msg.startswith("depth limit"):
        return "JSON nested more than 1024 levels deep: flatten the record"
    if exc.msg.startswith("unexpected content after document"):
        return f"column {column}: trailing characters after the JSON object: one object per line"
    if exc.msg.startswith("no digit"):  # "-Infinity": orjson points after the sign
        column -= 1
    rest = text[column - 1:]
    for literal in _BAD_LITERALS:
        if rest.startswith(literal):
            return f"column {column}: {literal} is not valid JSON: use null or a finite number"
    return f"column {column}: invalid JSON: {exc.msg}"


def _exactness_problem(body: bytes, record: dict) -> str | None:
    """What orjson silently changed: a key given twice, or a number it had to round.

    Reparses with the exact (and slower) standard library parser; called only for lines
    that are not canonical, since a canonical line can have neither.
    """
    found: list[str] = []
    rounded: list[str] = []

    def check_pairs(pairs: list[tuple[str, object]]) -> dict:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return dict(pairs)

    def check_float(text: str) -> float:
        value = float(text)
        # The canonical form writes the double's shortest text; a literal with more digits
        # than a double holds would silently change (0.30000000000000000000000001 -> 0.3).
        if math.isfinite(value) and Decimal(text) != Decimal(repr(value)) and not rounded:
            rounded.append(text)
        return value

    try:
        exact = json.loads(body, object_pairs_hook=check_pairs, parse_float=check_float)
    except RecursionError:
        return "JSON nested too deeply to check: flatten the record"
    if found:
        return f"duplicate key {json.dumps(found[0], ensure_ascii=False)} in one object: " \
               "JSON keeps only the last one; remove the other"
    if exact != record or rounded:
        shown = f" ({rounded[0][:40]})" if rounded else ""
        return f"a number here{shown} has more digits than a 64-bit integer or double can " \
               "hold exactly: store it as a string"
    return None


def line_boundary(path: Path, size: int) -> int:
    """The offset just after the last "\n" in the first `size` bytes of `path` (0 if none):
    where reading can resume without starting inside a line."""
    with open(path, "rb") as f:
        end = size
        while end > 0:
            start = max(0, end - _CHUNK)
            f.seek(start)
            found = f.read(end - start).rfind(b"\n")
            if found >= 0:
                return start + found + 1
            end = start
    return 0


def _umask() -> int:
    """The process's umask (reading it means setting it: done once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextmanager
def atomic_writer(path: Path, durable: bool = True) -> Iterator[BinaryIO]:
    """Write to a temporary file beside `path`, then fsync and rename it into place.

    A crash at any point leaves either the old file or the new one, never a mix. Without
    `durable` (a cache, which a reader checks and can rebuild) nothing is fsynced: the
    rename alone keeps readers from seeing half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            yield tmp
            tmp.flush()
            if durable:
                os.fsync(tmp.fileno())
        # mkstemp makes the file 0600: keep the old file's mode, or give a new one the mode
        # open() would (0666 less the umask), so a report is as readable as any other file.
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_UMASK)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not supported on this platform
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_records(path: Path, records: Iterable[dict]) -> None:
    """Replace `path` atomically with `records` in canonical form.

    For files nobody else writes (pipeline outputs, reports, test fixtures); dataset files
    are changed only through tf_cli.writer, which holds their lock."""
    with atomic_writer(path) as out:
        for record in records:
            out.write(canonical_bytes(record))
            out.write(b"\n")


def write_json(path: Path, data) -> None:
    """A JSON document (a report), indented with sorted keys, replaced atomically."""
    with atomic_writer(path) as out:
        out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
