"""`tf validate`: every dataset line against its signature's schema and rules.

Which files against which signature, and duplicate ids across a signature's files (only
an 8-byte hash per example kept in memory). Each file is checked by tf_cli/file_check.py
(on every core if it is large); with --incremental, only what changed since it last checked
clean (tf_cli/incremental.py). Every problem is collected; nothing stops at the first.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tf_cli import parallel
from tf_cli.counting import COUNTED, PENDING, state
from tf_cli.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, ConfigError, UsageError
from tf_cli.file_check import MAX_FILE_PROBLEMS, FileCheck, check_file
from tf_cli.layout import (
    DATASET_SUFFIX,
    EXAMPLES_FILE,
    PENDING_FILES,
    PROMPTS_FILE,
    RULES_SUFFIX,
    SCHEMA_SUFFIX,
    SHARED_SCHEMAS,
)
from tf_cli.problems import Problem
from tf_cli.project import Project
from tf_cli.records import DEFAULT_MAX_LINE_BYTES, canonical_bytes, read_lines
from tf_cli.schemas import SchemaLoader, Signature

if TYPE_CHECKING:
    from tf_cli.incremental import Records

# Above this many ids, duplicates are found by sorting a numpy array (8 bytes per id)
# instead of a Python set (about 60 bytes per id; importing numpy costs 0.1 s).
_NUMPY_DUPLICATE_SEARCH_FROM = 1_000_000


@dataclass
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    examples: int = 0
    files: int = 0
    signatures: int = 0
    processes: int = 1  # the most that checked one file together (tf_cli/parallel.py)
    unchanged_lines: int = 0  # not checked again (--incremental: tf_cli/incremental.py)

    @property
    def exit_code(self) -> int:
        if any(p.config for p in self.problems):
            return EXIT_USAGE
        return EXIT_CHECK_FAILED if self.problems else EXIT_OK

    def to_json(self) -> dict:
        return {
            "ok": not self.problems,
            "examples": self.examples,
            "files": self.files,
            "signatures": self.signatures,
            "processes": self.processes,
            "unchanged_lines": self.unchanged_lines,
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass
class _Plan:
    """Which files of which signature to check fully."""

    checked: dict[str, set[Path]] = field(default_factory=dict)
    orphans: list[Path] = field(default_factory=list)

    def add(self, signature: str, files: Iterable[Path] = ()) -> None:
        self.checked.setdefault(signature, set()).update(f.resolve() for f in files)


def validate(
    project: Project,
    paths: list[Path] | None = None,
    signature: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    jobs: int | None = None,
    incremental: bool = False,
) -> ValidationReport:
    """Validate the given files (default: every dataset and schema) and collect problems.

    A large file is checked by up to `jobs` processes (default: one per usable core). With
    `incremental`, the parts of a file unchanged since it last checked clean in this clone
    are not checked again (tf_cli/incremental.py); duplicate ids are still looked for
    among all lines."""
    plan = _plan(project, paths, signature)
    records = None
    if incremental:  # imported here: a plain tf validate does without it
        from tf_cli.incremental import Records

        records = Records(project)
    run = _Run(project, ValidationReport(), max_line_bytes, jobs, records)
    loader = project.schemas
    for path in plan.orphans:
        run.report.files += 1
        run.report.problems.append(Problem(project.display(path),
                                           _orphan_message(project, path)))
    for name in sorted(plan.checked):
        try:
            compiled = loader.signature(name)
        except ConfigError as exc:
            run.report.problems.extend(exc.problems)
            continue
        run.report.signatures += 1
        run.signature(loader, compiled, plan.checked[name])
    run.report.problems.sort(key=lambda p: (not p.config, p.path, p.line or 0))
    return run.report


def _orphan_message(project: Project, path: Path) -> str:
    relative = path.resolve().relative_to(project.datasets_dir.resolve())
    if len(relative.parts) == 1:
        return "dataset files live in datasets/<signature>/: move this file into the " \
               "folder of its signature"
    name = relative.parts[0]
    return (f'no schema for signature "{name}": add '
            f"{project.display(project.schema_path(name))} or move this file")


def _plan(project: Project, paths: list[Path] | None, signature: str | None) -> _Plan:
    plan = _Plan()
    if signature is not None:
        project.require_signature(signature)
    if not paths:
        for name in [signature] if signature else project.signatures():
            plan.add(name, project.checked_files(name))
        if not signature:
            _add_orphans(project, plan)
        return plan
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if not path.is_dir():
            files = [path]
        elif _is_within(path, project.schemas_dir):
            files = sorted(path.glob(f"*{SCHEMA_SUFFIX}"))
        else:
            files = sorted(path.rglob(f"*{DATASET_SUFFIX}"))
            if not files:  # "ok" would say a check passed that never ran
                raise UsageError(f"{path}: no .jsonl files in this folder, nothing to validate")
        for file in files:
            _plan_file(project, plan, file, signature)
    return plan


def _plan_file(project: Project, plan: _Plan, file: Path, signature: str | None) -> None:
    if _is_within(file, project.schemas_dir):
        name = file.name.removesuffix(SCHEMA_SUFFIX).removesuffix(RULES_SUFFIX)
        if name in SHARED_SCHEMAS:  # shared definitions: every signature depends on them
            for each in project.signatures():
                plan.add(each, project.checked_files(each))
        elif name in project.signatures():
            plan.add(name, project.checked_files(name))
        return
    if signature:
        plan.add(signature, [file])
        return
    if not _is_within(file, project.datasets_dir):
        raise UsageError(f"{file}: not under datasets/, so its signature is unknown",
                         hint="pass --signature NAME to validate it against that schema")
    relative = file.resolve().relative_to(project.datasets_dir.resolve())
    if len(relative.parts) == 2 and relative.parts[0] in project.signatures():
        plan.add(relative.parts[0], [file])
    else:
        plan.orphans.append(file)


def _add_orphans(project: Project, plan: _Plan) -> None:
    known = set(project.signatures())
    if project.datasets_dir.is_dir():
        plan.orphans.extend(sorted(project.datasets_dir.glob(f"*{DATASET_SUFFIX}")))
    for name in project.dataset_signatures():
        if name not in known:
            plan.orphans.extend(project.checked_files(name))


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


@dataclass
class _Run:
    """One tf validate: where its results go and how files are read."""

    project: Project
    report: ValidationReport
    max_line_bytes: int
    jobs: int | None
    records: Records | None  # with --incremental (tf_cli/incremental.py)

    def signature(self, loader: SchemaLoader, signature: Signature, checked: set[Path]) -> None:
        """Examples against the signature; prompts.jsonl, with ids of its own, against
        inputs."""
        prompts = {p for p in checked if p.name == PROMPTS_FILE}
        self.files(signature, "examples", self.project.dataset_files(signature.name) +
                   self.project.retired_files(signature.name), checked - prompts)
        if prompts or any(p.resolve() in checked
                          for p in self.project.prompt_files(signature.name)):
            self.files(loader.prompt_signature(signature.name), "prompts",
                       self.project.prompt_files(signature.name), prompts)

    def files(self, signature: Signature, view: str, siblings: list[Path],
              checked: set[Path]) -> None:
        files = sorted(set(siblings) | checked)
        id_hashes = array("q")
        fingerprint = None if self.records is None else \
            self.records.fingerprint(signature.name, view, self.max_line_bytes)
        for path in files:
            if path.resolve() in checked:
                self.report.files += 1
                found = self.file(path, signature, fingerprint)
                self.report.examples += found.records
                self.report.problems.extend(found.problems)
                id_hashes.extend(found.id_hashes)
            else:  # a sibling file: only its ids matter, for duplicates across files
                id_hashes.extend(self.sibling_ids(path, fingerprint))
        duplicated = _duplicate_hashes(id_hashes)
        if duplicated:
            self.report.problems.extend(_duplicate_id_problems(
                self.project, files, checked, duplicated, self.max_line_bytes))

    def file(self, path: Path, signature: Signature, fingerprint: str | None) -> FileCheck:
        shown = self.project.display(path)
        if self.records is None or fingerprint is None:
            workers = parallel.workers_for(path.stat().st_size, self.jobs)
            self.report.processes = max(self.report.processes, workers)
            return check_file(path, shown, signature, self.max_line_bytes, workers)
        before = path.stat()  # a file changed while it was checked is not recorded
        unchanged = self.records.unchanged(path, fingerprint)
        start, end = (unchanged.head_end, unchanged.tail_start) if unchanged \
            else (0, before.st_size)
        workers = parallel.workers_for(end - start, self.jobs)
        self.report.processes = max(self.report.processes, workers)
        found = check_file(path, shown, signature, self.max_line_bytes, workers, start, end,
                           collect_ids=True)
        assert found.ids is not None
        if not found.problems and found.canonical and (unchanged is None or end > start):
            self.records.remember(path, fingerprint, self.max_line_bytes, unchanged,
                                  found.ids, start, end, before)
        if unchanged is None:
            return found
        self.report.unchanged_lines += unchanged.lines
        whole = FileCheck(unchanged.head_lines, unchanged.head_lines,
                          id_hashes=_hashes(unchanged.head_ids))
        whole.add(found)
        whole.add(FileCheck(unchanged.tail_lines, unchanged.tail_lines,
                            id_hashes=_hashes(unchanged.tail_ids)))
        return whole

    def sibling_ids(self, path: Path, fingerprint: str | None) -> Iterable[int]:
        if fingerprint is not None and self.records is not None:
            unchanged = self.records.unchanged(path, fingerprint)
            if unchanged is not None and unchanged.head_end == unchanged.tail_start:
                return _hashes(unchanged.head_ids + unchanged.tail_ids)  # as recorded
        return [hash(line.record["id"]) for line in read_lines(path, self.max_line_bytes)
                if line.record is not None and isinstance(line.record.get("id"), str)]


def _hashes(ids: list[str | None]) -> array:
    return array("q", map(hash, filter(None, ids)))  # in C: 100,000 ids in a few ms


def _duplicate_hashes(id_hashes: array) -> set[int]:
    if len(id_hashes) < _NUMPY_DUPLICATE_SEARCH_FROM:
        if len(set(id_hashes)) == len(id_hashes):  # the usual answer, found in C
            return set()
        seen: set[int] = set()
        duplicated = set()
        for value in id_hashes:
            if value in seen:
                duplicated.add(value)
            seen.add(value)
        return duplicated
    import numpy as np

    values = np.sort(np.frombuffer(id_hashes, dtype=np.int64))
    return set(values[1:][values[1:] == values[:-1]].tolist())


def _duplicate_id_problems(project: Project, files: list[Path], checked: set[Path],
                           duplicated: set[int], max_line_bytes: int) -> list[Problem]:
    """Second pass, only when duplicates exist: find where each duplicated id is used."""
    places: dict[str, list[tuple[Path, int]]] = {}
    states: dict[str, list[tuple[str, str, int]]] = {}
    kept = unlisted = 0  # a file of one id on a million lines: list the first, count the rest
    for path in files:
        for line in read_lines(path, max_line_bytes):
            if line.record is None:
                continue
            record_id = line.record.get("id")
            if type(record_id) is str and hash(record_id) in duplicated:
                if kept > MAX_FILE_PROBLEMS:
                    unlisted += 1
                    continue
                kept += 1
                places.setdefault(record_id, []).append((path, line.number))
                states.setdefault(record_id, []).append((path.name, state(line.record),
                                                         _content_hash(line.record)))
    problems = []
    if unlisted:
        problems.append(Problem(project.display(files[0]), f"{unlisted:,} more uses of "
                                "duplicated ids are not listed"))
    for record_id, where in places.items():
        if len(where) < 2 or _interrupted_approval(states[record_id]):
            continue  # a hash collision; or a stale copy that counts nowhere
        (first_path, first_line), *later = where
        first = f"{project.display(first_path)}:{first_line}"
        for path, number in later:
            if path.resolve() in checked or first_path.resolve() in checked:
                problems.append(Problem(
                    project.display(path),
                    f"duplicate id \"{record_id}\", first used at {first}: give one of them a "
                    "new id (if a merge duplicated an edited example, keep one version)",
                    line=number, pointer="$.id"))
    return problems


def _content_hash(record: dict) -> int:
    try:
        return hash(canonical_bytes({"inputs": record.get("inputs"),
                                     "outputs": record.get("outputs")}))
    except TypeError:  # nested deeper than the encoder goes: never "the same" as another
        return id(record)


def _interrupted_approval(copies: list[tuple[str, str, int]]) -> bool:
    """An approval moves an example into examples.jsonl before removing its pending copy;
    a crash between the two leaves this pair: the same inputs and outputs, counted in
    examples.jsonl and pending in a pending file. The pending copy counts nowhere and the
    next `tf review` removes it, so it is not a duplicate to report."""
    counted = [c for c in copies if c[:2] == (EXAMPLES_FILE, COUNTED)]
    stale = [c for c in copies if c[0] in PENDING_FILES and c[1] == PENDING]
    return (len(counted) == 1 and len(counted) + len(stale) == len(copies)
            and len({c[2] for c in copies}) == 1)
