"""New examples: completing them (id, created_at, source), checking them, appending them.

Shared by `tf add-example`, `tf import` and `tf_cli.capture`, so every way data enters
the repository applies the same schema, rules and duplicate checks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from tf_cli import writer
from tf_cli.file_check import example_problems
from tf_cli.ids import new_id, now
from tf_cli.layout import DATASETS_DIR, EXAMPLES_FILE
from tf_cli.problems import Problem
from tf_cli.records import canonical_bytes, line_boundary, read_lines
from tf_cli.schemas import Signature

if TYPE_CHECKING:
    from tf_cli.project import Project


def complete(record: dict, *, source: str) -> dict:
    """Fill what a new example gets once, at creation: id, created_at and source."""
    record = dict(record)
    record.setdefault("id", new_id())
    metadata = dict(record.get("metadata") or {})
    metadata.setdefault("source", source)
    metadata.setdefault("created_at", now())
    record["metadata"] = metadata
    return record


def text_values(values: dict) -> list[str]:
    """The strings of an inputs or outputs object, list items included."""
    out = []
    for value in values.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out += [v for v in value if isinstance(v, str)]
    return out


def input_key(record: dict) -> bytes:
    """Identity of an example's inputs with case and spacing ignored, for duplicates:
    a 16-byte digest, so a set of them stays small for large imports."""
    normalized = orjson.dumps(_normalized(record.get("inputs")), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(normalized, digest_size=16).digest()


def _normalized(value):
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


@dataclass
class Existing:
    """What a signature's data already holds: its ids and the keys of its inputs.

    It remembers how far it has read each file, so `catch_up` can add what other
    processes appended since: called under a file's lock, it makes the duplicate check
    that guards an append see everything that is in the file at that moment.
    """

    ids: set[str] = field(default_factory=set)
    inputs: set[bytes] = field(default_factory=set)
    # path -> (device, inode, offset read to, the bytes just before that offset)
    read_to: dict[Path, tuple[int, int, int, bytes]] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, project: Project, signature: str, prompts: bool = False) -> Existing:
        """From the signature's example files, or from its prompts.jsonl."""
        existing = cls()
        files = project.prompt_files(signature) if prompts else project.dataset_files(signature)
        for path in files:
            existing.catch_up(path)
        return existing

    def catch_up(self, path: Path, each=None) -> Existing:
        """Add what `path` holds beyond what was read of it before (all of it, if the file
        was replaced or rewritten since); returns only what is new. `each(record)` sees
        every record read, for an index of one's own built in the same pass."""
        new = Existing()
        try:
            stat = path.stat()
        except FileNotFoundError:
            return new
        offset = self._appended_since(path, stat)
        for line in read_lines(path, start=offset):
            if line.record is not None:
                new.add(line.record)
                if each is not None:
                    each(line.record)
        end = line_boundary(path, stat.st_size)
        self.read_to[path] = (stat.st_dev, stat.st_ino, end, _bytes_before(path, end))
        self.ids |= new.ids
        self.inputs |= new.inputs
        return new

    def _appended_since(self, path: Path, stat) -> int:
        """Where unread lines start: the old offset when the file only grew since (same
        inode, same bytes before the offset), else 0. The bytes matter: a file system may
        give a replaced file its old inode back."""
        device, inode, offset, before = self.read_to.get(path, (None, None, 0, b""))
        if (device, inode) != (stat.st_dev, stat.st_ino) or stat.st_size < offset:
            return 0
        return offset if _bytes_before(path, offset) == before else 0

    def add(self, record: dict) -> None:
        if isinstance(record.get("id"), str):
            self.ids.add(record["id"])
        self.inputs.add(input_key(record))


def _bytes_before(path: Path, offset: int, size: int = 4096) -> bytes:
    with open(path, "rb") as f:
        f.seek(max(0, offset - size))
        return f.read(min(offset, size))


def check_new(signature: Signature, record: dict, existing: Existing,
              where: str = "<example>", line: int | None = None) -> list[Problem]:
    """Schema, rules, and a fresh id: everything a new example must pass."""
    problems = example_problems(signature, record, where, line)
    if record.get("id") in existing.ids:
        problems.append(Problem(where, f'id "{record["id"]}" is already used in '
                                f"{DATASETS_DIR}/{signature.name}/: leave id out to get a new one",
                                line=line, pointer="$.id"))
    return problems


def dataset_file(project: Project, signature: str, name: str = EXAMPLES_FILE) -> Path:
    return project.dataset_dir(signature) / name


def append(project: Project, signature: str, records: list[dict], existing: Existing,
           name: str = EXAMPLES_FILE) -> Path:
    """Append records whose ids were checked against `existing`; checked again under the
    file's lock, against what other processes wrote meanwhile."""
    path = dataset_file(project, signature, name)
    with writer.locked(path):
        taken = existing.catch_up(path).ids
        clash = next((r["id"] for r in records if r["id"] in taken), None)
        if clash:
            raise writer.WriteFailed(f"{path}: id {clash} was added by another process while "
                                     "this ran; nothing was added", hint="leave id out to "
                                     "get a new one")
        writer.append(path, [canonical_bytes(r) + b"\n" for r in records])
    return path
