"""`tf import`: seed a signature's examples from CSV, JSON, JSONL or YAML.

A malformed file (bad CSV quoting, invalid YAML, YAML aliases, a binary file, a wrong
encoding) is an error and writes nothing. Otherwise each row is mapped onto the
signature's fields, converted by the schema's types and checked like any new example:
valid rows are appended in one atomic write, rejected rows are reported with every
reason, and rows whose inputs already exist are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import orjson

from tf_cli import writer
from tf_cli.errors import UsageError
from tf_cli.examples import Existing, check_new, dataset_file, input_key
from tf_cli.ids import new_id, now
from tf_cli.import_readers import FORMATS, refuse_binary, rows
from tf_cli.layout import EXAMPLES_FILE, IMPORTED, PROMPTS_FILE
from tf_cli.project import Project
from tf_cli.records import canonical_bytes, write_records
from tf_cli.schemas import SchemaLoader, Signature

PARTS = ("inputs", "outputs", "metadata")
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


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
    inputs_only: bool = False  # rows are prompts for bootstrap labelling: prompts.jsonl


def _check_rejects_path(project: Project, rejects: Path, source: Path) -> None:
    """--rejects FILE is replaced by the rejected rows: never a dataset file, the input, a
    schema, or anything but a regular file (a link, a FIFO, a device), checked before any
    row is read."""
    from tf_cli.file_safety import irregular

    kind = irregular(rejects) if str(rejects) else "an empty path"
    target = rejects.resolve() if str(rejects) else None
    if kind is None and target is not None:
        guarded = (project.datasets_dir.resolve(), project.schemas_dir.resolve())
        if target == source.resolve():
            kind = "the file being imported"
        elif any(target.is_relative_to(folder) for folder in guarded):
            kind = "inside datasets/ or schemas/"
    if kind:
        raise UsageError(f"--rejects {rejects}: {kind}; the rejected rows would replace it",
                         hint="name a new file, e.g. tickets.rejects.jsonl (git ignores "
                              "*.rejects.jsonl)")


def import_file(project: Project, source: Path, signature_name: str, options: ImportOptions,
                progress: Callable[[int, int], None] | None = None) -> ImportResult:
    project.require_signature(signature_name)
    fmt = options.format or FORMATS.get(source.suffix.lower())
    if fmt is None:
        raise UsageError(f"{source}: cannot tell the format from the extension",
                         hint="pass --input-format csv|tsv|json|jsonl|yaml")
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    refuse_binary(source)
    if options.rejects is not None:
        _check_rejects_path(project, options.rejects, source)
    loader = project.schemas
    signature = loader.signature(signature_name)
    mapper = _Mapper(loader, signature, options, origin=source.name)
    if options.inputs_only:
        signature = loader.prompt_signature(signature_name)
    existing = Existing.read(project, signature_name, prompts=options.inputs_only)
    result = ImportResult()
    accepted: list[_Accepted] = []  # canonical lines: far smaller than the records
    for number, row, error in rows(source, fmt, options.encoding, progress):
        result.rows += 1
        if error or not isinstance(row, dict):
            result.rejected.append(Reject(number, row if isinstance(row, dict) else
                                          {"value": row}, [error or "not an object"]))
            continue
        record, reasons = mapper.example(row, result.ignored_columns)
        if options.inputs_only:
            record = {"id": record["id"], "inputs": record["inputs"],
                      "metadata": record["metadata"]}
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
        # + "\n" also copies orjson's output, whose buffer keeps 4 KiB per line otherwise.
        accepted.append(_Accepted(number, record["id"], key, canonical_bytes(record) + b"\n"))
    if options.rejects is not None and result.rejected and not options.dry_run:
        write_records(options.rejects, ({"row": r.row, "data": r.data, "reasons": r.reasons}
                                        for r in result.rejected))
    result.path = dataset_file(project, signature_name,
                               PROMPTS_FILE if options.inputs_only else EXAMPLES_FILE)
    if options.dry_run or (options.all_or_nothing and result.rejected):
        result.accepted = len(accepted)
        return result
    if accepted:
        # Decided under the lock: rows another process wrote meanwhile are duplicates now.
        with writer.locked(result.path):
            fresh = existing.catch_up(result.path)
            if fresh.ids or fresh.inputs:
                result.duplicates += [a.row for a in accepted
                                      if a.key in fresh.inputs or a.id in fresh.ids]
                accepted = [a for a in accepted
                            if a.key not in fresh.inputs and a.id not in fresh.ids]
            writer.append_atomically(result.path, [a.line for a in accepted])
        result.written = bool(accepted)
    result.accepted = len(accepted)
    result.imported = [a.id for a in accepted]
    return result


class _Accepted(NamedTuple):
    row: int
    id: str
    key: bytes
    line: bytes


class _Field(NamedTuple):
    path: str  # "inputs.implementation", or "id"
    part: str | None
    name: str
    kind: str  # the JSON Schema type the text of a cell is converted to
    item_kind: str | None  # for arrays


class _Mapper:
    """Turns one source row into an example of the signature."""

    def __init__(self, loader: SchemaLoader, signature: Signature, options: ImportOptions,
                 origin: str):
        self.origin = origin
        self.fields: dict[str, _Field] = {"id": _Field("id", None, "id", "string", None)}
        for part in PARTS:
            node = loader.resolve(signature.schema["properties"][part], signature)
            for name, sub in node.get("properties", {}).items():
                sub = loader.resolve(sub, signature)
                items = loader.resolve(sub.get("items", {}), signature).get("type")
                self.fields[f"{part}.{name}"] = _Field(f"{part}.{name}", part, name,
                                                       sub.get("type", "string"), items)
        for dest in [*options.mapping.values(), *options.sets]:
            if dest not in self.fields:
                raise UsageError(f"{dest}: no such field in {signature.name}",
                                 hint="fields: " + ", ".join(self.fields))
        self.routes: dict[str, _Field | None] = {
            source: self.fields[dest] for source, dest in options.mapping.items()}
        self.sets = [(self.fields[dest], self.convert(self.fields[dest], value)[0])
                     for dest, value in options.sets.items()]
        self.created_at = now()

    def route(self, name: str) -> _Field | None:
        """The field a source column fills: mapped, or named like the field (or its leaf)."""
        if name not in self.routes:
            leaf = next((f for f in self.fields.values() if f.name == name), None)
            self.routes[name] = self.fields.get(name) or leaf
        return self.routes[name]

    def example(self, row: dict, ignored: set[str]) -> tuple[dict, list[str]]:
        record: dict = {part: {} for part in PARTS}
        reasons: list[str] = []
        for name, value in row.items():
            target = self.route(name)
            if target is not None:
                self._put(record, target, value, reasons)
            elif name in PARTS and isinstance(value, dict):  # already nested
                for sub, sub_value in value.items():
                    nested = self.fields.get(f"{name}.{sub}")
                    if nested is None:
                        record[name][sub] = sub_value  # the schema will name it
                    else:
                        self._put(record, nested, sub_value, reasons)
            else:
                ignored.add(name)
        for target, value in self.sets:
            self._place(record, target, value)
        metadata = record["metadata"]
        metadata.setdefault("source", IMPORTED)
        metadata.setdefault("created_at", self.created_at)
        metadata.setdefault("provenance", {"origin": self.origin})
        record.setdefault("id", new_id())
        return record, reasons

    def _put(self, record: dict, target: _Field, value, reasons: list[str]) -> None:
        converted, problem = self.convert(target, value)
        if problem:
            reasons.append(f"{target.path}: {problem}")
        elif converted is not None:
            self._place(record, target, converted)

    @staticmethod
    def _place(record: dict, target: _Field, value) -> None:
        if target.part is None:
            record[target.name] = value
        else:
            record[target.part][target.name] = value

    @staticmethod
    def convert(target: _Field, value):
        """(value converted to the field's type, or None to leave it out; a problem)."""
        if not isinstance(value, str):
            return value, None
        kind = target.kind
        if kind == "string":
            return (value if value else None), None
        text = value.strip()
        if not text:
            return ([] if kind == "array" else None), None  # an empty cell
        if kind == "boolean":
            lowered = text.lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE, None
            return None, f"{value!r} is not a boolean (true/false, yes/no, 1/0)"
        if kind in ("integer", "number"):
            try:
                return (int(text) if kind == "integer" else float(text)), None
            except ValueError:
                return None, f"{value!r} is not {'an integer' if kind == 'integer' else 'a number'}"
        if kind == "array":
            return _list(target, text)
        return value, None


def _list(target: _Field, text: str):
    """A cell holding a list: a JSON array, or items separated by ";"."""
    if text.startswith("["):
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return None, f"invalid JSON array: {exc.msg}"
    else:
        items = [item for item in map(str.strip, text.split(";")) if item]
    if target.item_kind in ("integer", "number"):
        try:
            items = [int(i) if target.item_kind == "integer" else float(i) for i in items]
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
