"""`tf fmt`: rewrite dataset files into canonical form, never reordering, never losing data.

A file with a line that cannot be canonicalized without guessing (invalid JSON, a
duplicate key, an inexact number) is left untouched and the line is reported. A rewrite
holds the file's writers' lock from the first read to the rename, so an import, a review
or a capture running meanwhile waits instead of being overwritten.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tf_cli.errors import UsageError
from tf_cli.layout import DATASET_SUFFIX
from tf_cli.problems import Problem
from tf_cli.project import Project
from tf_cli.records import DEFAULT_MAX_LINE_BYTES, read_lines
from tf_cli.writer import locked, write_all

if TYPE_CHECKING:
    from tf_cli.incremental import Records


@dataclass
class FormatResult:
    changed: list[str] = field(default_factory=list)  # reformatted, or would be with --check
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    def to_json(self) -> dict:
        return {"changed": self.changed, "files": self.files,
                "problems": [p.to_json() for p in self.problems]}


def format_files(project: Project, paths: list[Path] | None = None, check: bool = False,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 incremental: bool = False) -> FormatResult:
    """With `check` and `incremental`, the parts of a file that `tf validate --incremental`
    found canonical and that have not changed since are not read again."""
    result = FormatResult()
    records = None
    if check and incremental:  # imported here: a plain tf fmt does without it
        from tf_cli.incremental import Records

        records = Records(project)
    for path in _dataset_files(project, paths):
        result.files += 1
        with nullcontext() if check else locked(path):  # --check writes nothing
            _format_file(path, project.display(path), check, max_line_bytes, result, records)
    return result


def _format_file(path: Path, shown: str, check: bool, max_line_bytes: int,
                 result: FormatResult, records: Records | None = None) -> None:
    needs_rewrite = False
    unfixable = []
    unchanged = records.unchanged(path, records.format_fingerprint(max_line_bytes),
                                  "canonical") if records else None
    start, end, skipped = (unchanged.head_end, unchanged.tail_start, unchanged.head_lines) \
        if unchanged else (0, None, 0)
    for line in read_lines(path, max_line_bytes, start, end):
        if line.problem and not line.fixable:
            unfixable.append(Problem(shown, line.problem, line=skipped + line.number))
        needs_rewrite |= line.fixable or not line.canonical
    if unfixable:
        result.problems.extend(unfixable)
    elif needs_rewrite:
        result.changed.append(shown)
        if not check:
            write_all(path, (ln.record for ln in read_lines(path, max_line_bytes)
                             if ln.record is not None))


def _dataset_files(project: Project, paths: list[Path] | None) -> list[Path]:
    if not paths:
        folder = project.datasets_dir
        return sorted(folder.rglob(f"*{DATASET_SUFFIX}")) if folder.is_dir() else []
    files = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        files.extend(sorted(path.rglob(f"*{DATASET_SUFFIX}")) if path.is_dir() else [path])
    return files
