"""`tf import`: seed a signature's examples from CSV, JSON, JSONL or YAML.

A malformed file (bad CSV quoting, invalid YAML, YAML aliases, a binary file, a wrong
encoding) is an error and writes nothing. Otherwise each row is mapped onto the
signature's fields, converted by the schema's types and checked like any new example:
valid rows are appended in one atomic write, rejected rows are reported with every
reason, and rows whose inputs already exist are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tf_cli.errors import TfError, UsageError
from tf_cli.examples import Existing, append, check_new, dataset_file, input_key
from tf_cli.ids import new_id, now
from tf_cli.project import Project
from tf_cli.records import write_records
from tf_cli.schemas import SchemaLoader, Signature

FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".yaml": "yaml", ".yml": "yaml"}
PARTS = ("inputs", "outputs", "metadata")
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


class ImportFileError(TfError):
    """The file cannot be read as its format: nothing is imported."""


@dataclass
class Reject:
    row: int
    data: dict
    reasons: list[str]


@dataclass
class ImportResult:
    rows: int = 0
    accepted: int = 0  # valid, new rows (written unless --dry-run or --all-or-nothing)
    imported: list[str] = field(default_factory=list)  # ids, in file order
    rejected: list[Reject] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # row numbers skipped
    ignored_columns: set[str] = field(default_factory=set)
    written: bool = False
    path: Path | None = None


@dataclass
class ImportOptions:
    format: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # source name -> field path
    sets: dict[str, str] = field(default_factory=dict)  # field path -> value
    all_or_nothing: bool = False
    dry_run: bool = False
    encoding: str = "utf-8"
    rejects: Path | None = None


def import_file(project: Project, source: Path, signature_name: str, options: ImportOptions,
                progress: Callable[[int, int], None] | None = None) -> ImportResult:
    if signature_name not in project.signatures():
        raise UsageError(f'unknown signature "{signature_name}"',
                         hint="known signatures: " + ", ".join(project.signatures()))
    fmt = options.format or FORMATS.get(source.suffix.lower())
    if fmt is None:
        raise UsageError(f"{source}: cannot tell the format from the extension",
                         hint="pass --format csv|tsv|json|jsonl|yaml")
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    _refuse_binary(source)
    loader = SchemaLoader(project)
    signature = loader.signature(signature_name)
    mapper = _Mapper(loader, signature, options, origin=source.name)
    existing = Existing.read(project, signature_name)
    result = ImportResult()
    accepted = []
    for number, row, error in _rows(source, fmt, options.encoding, progress):
        result.rows += 1
        if error or not isinstance(row, dict):
            result.rejected.append(Reject(number, row if isinstance(row, dict) else
                                          {"value": row}, [error or "not an object"]))
            continue
        record, reasons = mapper.example(row, result.ignored_columns)
        if not reasons:
            key = input_key(record)
            if key in existing.inputs:
                result.duplicates.append(number)
                continue
            reasons = [f"{p.pointer or '$'}: {p.message}"
                       for p in check_new(signature, record, existing)]
        if reasons:
            result.rejected.append(Reject(number, row, reasons))
            continue
        existing.add(record)
        accepted.append(record)
    if options.rejects is not None and result.rejected and not options.dry_run:
        write_records(options.rejects, ({"row": r.row, "data": r.data, "reasons": r.reasons}
                                        for r in result.rejected))
    result.path = dataset_file(project, signature_name)
    result.accepted = len(accepted)
    if options.dry_run or (options.all_or_nothing and result.rejected):
        return result
    if accepted:
        append(project, signature_name, accepted, atomic=True)
        result.written = True
    result.imported = [r["id"] for r in accepted]
    return result


def _refuse_binary(source: Path) -> None:
    with open(source, "rb") as f:
        head = f.read(8192)
    if b"\x00" in head:
        raise ImportFileError(f"{source}: a binary file (it holds NUL bytes), not text: "
                              "export it as CSV, JSON, JSONL or YAML")


def _rows(source: Path, fmt: str, encoding: str, progress: Callable[[int, int], None] | None
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


def _csv_rows(source: Path, delimiter: str, encoding: str, progress):
    csv.field_size_limit(1 << 24)
    total = source.stat().st_size
    with open(source, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                                newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
            if not header:
                raise ImportFileError(f"{source}: empty file: the first line must name the "
                                      "columns")
            repeated = sorted({h for h in header if header.count(h) > 1})
            if repeated:
                raise ImportFileError(f"{source}:1: column {repeated[0]!r} appears twice")
            for row in reader:
                if progress and reader.line_num % 1000 == 0:
                    progress(raw.tell(), total)
                if not row:
                    continue
                if len(row) != len(header):
                    yield reader.line_num, {}, (f"{len(row)} cells, but the header has "
                                                f"{len(header)}")
                    continue
                yield reader.line_num, dict(zip(header, row, strict=True)), None
        except csv.Error as exc:
            raise ImportFileError(f"{source}:{reader.line_num}: bad CSV: {exc}: check the "
                                  "quoting of that line") from None
        except UnicodeDecodeError as exc:  # decoded in blocks: the line is approximate
            raise _not_encoded(source, reader.line_num + 1, encoding, exc) from None


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
    from ruamel.yaml.events import AliasEvent

    yaml = YAML(typ="safe", pure=True)
    try:
        # Aliases are refused before anything is built: a few nested anchors can expand
        # into billions of nodes ("billion laughs") once the data is walked.
        for event in yaml.parse(io.StringIO(text)):
            if isinstance(event, AliasEvent):
                mark = event.start_mark
                raise ImportFileError(f"{source}:{mark.line + 1}: YAML aliases (*{event.anchor})"
                                      " are not accepted in imports: write the values out")
        value = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else str(source)
        raise ImportFileError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") \
            from None
    return _items(source, value)


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


class _Mapper:
    """Turns one source row into an example of the signature."""

    def __init__(self, loader: SchemaLoader, signature: Signature, options: ImportOptions,
                 origin: str):
        self.loader, self.signature, self.origin = loader, signature, origin
        self.fields: dict[str, dict] = {}  # "inputs.x" -> resolved field schema
        for part in PARTS:
            node = loader.resolve(signature.schema["properties"][part], signature)
            for name, sub in node.get("properties", {}).items():
                self.fields[f"{part}.{name}"] = loader.resolve(sub, signature)
        by_leaf: dict[str, str] = {}
        for path in self.fields:
            by_leaf.setdefault(path.split(".", 1)[1], path)
        self.by_leaf = by_leaf
        for dest in [*options.mapping.values(), *options.sets]:
            if dest != "id" and dest not in self.fields:
                raise UsageError(f"{dest}: no such field in {signature.name}",
                                 hint="fields: id, " + ", ".join(self.fields))
        self.mapping = options.mapping
        self.sets = {dest: self.convert(dest, value)[0] for dest, value in options.sets.items()}
        self.created_at = now()

    def example(self, row: dict, ignored: set[str]) -> tuple[dict, list[str]]:
        record: dict = {part: {} for part in PARTS}
        reasons: list[str] = []
        for name, value in row.items():
            dest = self.mapping.get(name) or self._destination(name)
            if dest is None:
                if name in PARTS and isinstance(value, dict):  # already nested
                    for sub, sub_value in value.items():
                        self._put(record, f"{name}.{sub}", sub_value, reasons)
                else:
                    ignored.add(name)
                continue
            self._put(record, dest, value, reasons)
        for dest, value in self.sets.items():
            self._place(record, dest, value)
        metadata = record["metadata"]
        metadata.setdefault("source", "imported")
        metadata.setdefault("created_at", self.created_at)
        metadata.setdefault("provenance", {"origin": self.origin})
        record.setdefault("id", new_id())
        return record, reasons

    def _destination(self, name: str) -> str | None:
        if name == "id" or name in self.fields:
            return name
        return self.by_leaf.get(name)

    def _put(self, record: dict, dest: str, value, reasons: list[str]) -> None:
        converted, problem = self.convert(dest, value)
        if problem:
            reasons.append(f"{dest}: {problem}")
        elif converted is not None:
            self._place(record, dest, converted)

    @staticmethod
    def _place(record: dict, dest: str, value) -> None:
        if dest == "id":
            record["id"] = value
            return
        part, name = dest.split(".", 1)
        record[part][name] = value

    def convert(self, dest: str, value):
        """(value converted to the field's type, or None to leave it out; a problem)."""
        if not isinstance(value, str):
            return value, None
        kind = self.fields.get(dest, {}).get("type", "string")
        text = value.strip()
        if kind == "array" and not text:
            return [], None
        if kind != "string" and not text:
            return None, None  # an empty cell: the field is absent
        if kind == "boolean":
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE, None
            return None, f"{value!r} is not a boolean (true/false, yes/no, 1/0)"
        if kind in ("integer", "number"):
            try:
                return (int(text) if kind == "integer" else float(text)), None
            except ValueError:
                return None, f"{value!r} is not {'an integer' if kind == 'integer' else 'a number'}"
        if kind == "array":
            return self._list(dest, text)
        return (value if value else None), None

    def _list(self, dest: str, text: str):
        if text.startswith("["):
            try:
                items = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                return None, f"invalid JSON array: {exc.msg}"
        else:
            items = [item.strip() for item in text.split(";") if item.strip()]
        item_kind = self.loader.resolve(self.fields[dest].get("items", {}),
                                        self.signature).get("type")
        if item_kind in ("integer", "number"):
            try:
                items = [int(i) if item_kind == "integer" else float(i) for i in items]
            except (TypeError, ValueError):
                return None, f"{text!r} is not a list of numbers"
        return items, None


def parse_assignments(pairs: list[str], option: str) -> dict[str, str]:
    """["a=b", ...] -> {"a": "b"}; a pair without "=" is a usage error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} {pair!r}: expected NAME=VALUE")
        out[key.strip()] = value.strip() if option == "--map" else value
    return out
