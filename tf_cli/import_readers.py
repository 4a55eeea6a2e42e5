"""Reading a file for `tf import`: CSV, TSV, JSON, JSONL or YAML into rows, one per example.

A file that cannot be read as its format (bad quoting, invalid YAML, aliases, binary
content, a wrong encoding, values JSON cannot hold) is an ImportFileError: nothing is
imported. A row that is read but is not an object comes back with its problem, for the
importer to reject with the others (tf_cli/importing.py maps and checks the rows).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from tf_cli.errors import TfError, UsageError
from tf_cli.yaml_guard import yaml_hazard

FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".yaml": "yaml", ".yml": "yaml"}


class ImportFileError(TfError):
    """The file cannot be read as its format: nothing is imported."""


def refuse_binary(source: Path) -> None:
    with open(source, "rb") as f:
        head = f.read(8192)
    if b"\x00" in head:
        raise ImportFileError(f"{source}: a binary file (it holds NUL bytes), not text: "
                              "export it as CSV, JSON, JSONL or YAML")


def rows(source: Path, fmt: str, encoding: str, progress: Callable[[int, int], None] | None
          ) -> Iterator[tuple[int, object, str | None]]:
    """(row number, row, problem) triples; the number is the row's line where it has one."""
    try:
        if fmt in ("csv", "tsv"):
            yield from _csv_rows(source, "\t" if fmt == "tsv" else ",", encoding, progress)
        elif fmt == "jsonl":
            yield from _jsonl_rows(source, encoding, progress)
        else:
            data = source.read_bytes()
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                line = data.count(b"\n", 0, exc.start) + 1
                raise _not_encoded(source, line, encoding, exc) from None
            items = _yaml_items(source, text) if fmt == "yaml" else _json_items(source, text)
            for index, item in enumerate(items, 1):
                if progress and index % 1000 == 0:
                    progress(index, len(items))
                yield index, item, None
    except LookupError:
        raise UsageError(f"--encoding {encoding}: unknown encoding") from None


def _not_encoded(source: Path, line: int, encoding: str,
                 exc: UnicodeDecodeError) -> ImportFileError:
    return ImportFileError(
        f"{source}:{line}: not {encoding} (byte 0x{exc.object[exc.start]:02x}): re-save it "
        "as UTF-8, or pass --encoding with the file's encoding (for example latin-1)")


def _check_encoding(source: Path, encoding: str) -> None:
    """Decode the file line by line first, so a wrong encoding names its exact line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(source, "rb") as raw:
        for number, line in enumerate(raw, 1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                raise _not_encoded(source, number, encoding, exc) from None


def _csv_rows(source: Path, delimiter: str, encoding: str, progress):
    _check_encoding(source, encoding)
    csv.field_size_limit(1 << 24)
    total = source.stat().st_size
    with open(source, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                                newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        start = 1
        try:
            header = next(reader, None)
            if not header:
                raise ImportFileError(f"{source}: empty file: the first line must name the "
                                      "columns")
            repeated = sorted({h for h in header if header.count(h) > 1})
            if repeated:
                raise ImportFileError(f"{source}:1: column {repeated[0]!r} appears twice")
            start = reader.line_num + 1  # the line a row starts on (cells may hold newlines)
            for row in reader:
                if progress and reader.line_num % 1000 == 0:
                    progress(raw.tell(), total)
                if row and len(row) != len(header):
                    yield start, {}, f"{len(row)} cells, but the header has {len(header)}"
                elif row:
                    yield start, dict(zip(header, row, strict=True)), None
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFileError(f"{source}:{start}: bad CSV: {exc}: check the quoting of "
                                  "that line") from None


def _jsonl_rows(source: Path, encoding: str, progress):
    total = source.stat().st_size
    with open(source, "rb") as raw:
        for number, line in enumerate(raw, 1):
            if progress and number % 1000 == 0:
                progress(raw.tell(), total)
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _not_encoded(source, number, encoding, exc) from None
            if not text.strip():
                continue
            try:
                yield number, orjson.loads(text), None
            except orjson.JSONDecodeError as exc:
                yield number, {"line": text.rstrip("\n")}, f"invalid JSON: {exc.msg}"


def _json_items(source: Path, text: str) -> list:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ImportFileError(f"{source}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    return _items(source, value)


def _yaml_items(source: Path, text: str) -> list:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    hazard = yaml_hazard(text)
    if hazard:
        raise ImportFileError(f"{source}:{hazard[0]}: {hazard[1]}")
    try:
        value = yaml.load(text)
    except ValueError:  # an integer of more digits than Python converts
        raise ImportFileError(f"{source}: a number in it has more digits than tf reads "
                              "(4,300): write it as a string") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else str(source)
        raise ImportFileError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") \
            from None
    return _items(source, _as_json(value, source))


def _as_json(value, source: Path):
    """YAML's values as JSON has them: a date or timestamp becomes its ISO text (as the
    writer meant it); what JSON cannot hold (binary, a non-text key, inf/nan) is refused.
    (yaml_hazard has bounded the nesting.)"""
    import datetime
    import math

    if isinstance(value, dict):
        bad = next((k for k in value if not isinstance(k, str)), None)
        if bad is not None:
            raise ImportFileError(f"{source}: a key that is not text ({type(bad).__name__}): "
                                  "JSON keys are strings; quote it")
        return {k: _as_json(v, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v, source) for v in value]
    if isinstance(value, datetime.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, bytes):
        raise ImportFileError(f"{source}: a !!binary value: examples hold text; decode it, "
                              "or quote it as text")
    if isinstance(value, float) and not math.isfinite(value):
        raise ImportFileError(f"{source}: {value} (.inf or .nan) is not a JSON number; "
                              "quote it if it is text")
    return value


def _items(source: Path, value) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [k for k, v in value.items() if isinstance(v, list)]
        if len(lists) == 1:
            return value[lists[0]]
        raise ImportFileError(f"{source}: an object with {len(lists)} lists; expected a list "
                              "of examples, or an object holding exactly one")
    raise ImportFileError(f"{source}: expected a list of examples")
