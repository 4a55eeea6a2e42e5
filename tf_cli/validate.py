"""`tf validate`: every dataset line against its signature's schema and rules.

One compiled validator per signature, files streamed line by line; a large file is cut
into line-aligned ranges checked by worker processes, one per core (tf_cli/parallel.py),
with the same problems in the same order. Every problem is collected; nothing stops at
the first. Duplicate ids are found across all files of a signature while keeping only an
8-byte hash per example in memory.
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from tf_cli import parallel
from tf_cli.counting import COUNTED, PENDING, state
from tf_cli.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, ConfigError, UsageError
from tf_cli.layout import (
    DATASET_SUFFIX,
    EXAMPLES_FILE,
    PENDING_FILES,
    PROMPTS_FILE,
    RULES_SUFFIX,
    SCHEMA_SUFFIX,
    SHARED_SCHEMAS,
)
from tf_cli.problems import Problem, json_path
from tf_cli.project import Project
from tf_cli.records import DEFAULT_MAX_LINE_BYTES, canonical_bytes, read_lines
from tf_cli.schemas import SchemaLoader, Signature

# Above this many ids, duplicates are found by sorting a numpy array (fast, 8 bytes per id)
# instead of a Python set (about 60 bytes per id).
_NUMPY_DUPLICATE_SEARCH_FROM = 50_000


@dataclass
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    examples: int = 0
    files: int = 0
    signatures: int = 0
    processes: int = 1  # the most that checked one file together (tf_cli/parallel.py)

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
) -> ValidationReport:
    """Validate the given files (default: every dataset and schema) and collect problems.
    A large file is checked by up to `jobs` processes (default: one per usable core)."""
    plan = _plan(project, paths, signature)
    report = ValidationReport()
    loader = project.schemas
    for path in plan.orphans:
        report.files += 1
        report.problems.append(Problem(
            project.display(path),
            _orphan_message(project, path)))
    for name in sorted(plan.checked):
        try:
            compiled = loader.signature(name)
        except ConfigError as exc:
            report.problems.extend(exc.problems)
            continue
        report.signatures += 1
        _validate_signature(project, loader, compiled, plan.checked[name], report,
                            max_line_bytes, jobs)
    report.problems.sort(key=lambda p: (not p.config, p.path, p.line or 0))
    return report


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
            plan.add(name, project.dataset_files(name) + project.prompt_files(name))
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
                plan.add(each, project.dataset_files(each) + project.prompt_files(each))
        elif name in project.signatures():
            plan.add(name, project.dataset_files(name) + project.prompt_files(name))
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
            plan.orphans.extend(project.dataset_files(name) + project.prompt_files(name))


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _validate_signature(project: Project, loader: SchemaLoader, signature: Signature,
                        checked: set[Path], report: ValidationReport,
                        max_line_bytes: int, jobs: int | None) -> None:
    """Examples against the signature; prompts.jsonl, with ids of its own, against inputs."""
    prompts = {p for p in checked if p.name == PROMPTS_FILE}
    _validate_files(project, signature, project.dataset_files(signature.name),
                    checked - prompts, report, max_line_bytes, jobs)
    if prompts or any(p.resolve() in checked for p in project.prompt_files(signature.name)):
        _validate_files(project, loader.prompt_signature(signature.name),
                        project.prompt_files(signature.name), prompts, report, max_line_bytes,
                        jobs)


def _validate_files(project: Project, signature: Signature, siblings: list[Path],
                    checked: set[Path], report: ValidationReport, max_line_bytes: int,
                    jobs: int | None) -> None:
    files = sorted(set(siblings) | checked)
    id_hashes = array("q")
    for path in files:
        if path.resolve() in checked:
            report.files += 1
            workers = parallel.workers_for(path, jobs)
            report.processes = max(report.processes, workers)
            report.examples += _check_file(path, project.display(path), signature,
                                           id_hashes, report.problems, max_line_bytes, workers)
        else:  # a sibling file: only its ids matter, for duplicates across files
            for line in read_lines(path, max_line_bytes):
                if line.record is not None and isinstance(line.record.get("id"), str):
                    id_hashes.append(hash(line.record["id"]))
    duplicated = _duplicate_hashes(id_hashes)
    if duplicated:
        report.problems.extend(_duplicate_id_problems(project, files, checked, duplicated,
                                                      max_line_bytes))


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


def _check_file(path: Path, shown: str, signature: Signature, id_hashes: array,
                problems: list[Problem], max_line_bytes: int, workers: int) -> int:
    """Validate one file, in `workers` processes. Returns the number of records."""
    if workers == 1:
        with _gc_paused():
            return _check_lines(path, shown, signature, id_hashes, problems,
                                max_line_bytes)[0]
    global _worker_signature
    _worker_signature = signature  # the forked workers inherit it
    try:
        parts = parallel.map_ranges(_RangeCheck(shown, max_line_bytes), path, workers)
    finally:
        _worker_signature = None
    records = lines = 0
    for part in parts:  # in file order: line numbers continue from the range before
        problems.extend(replace(p, line=p.line + lines) if p.line else p
                        for p in part.problems)
        id_hashes.extend(part.id_hashes)
        records, lines = records + part.records, lines + part.lines
    return records


_worker_signature: Signature | None = None  # what a forked worker checks its ranges against


@dataclass(frozen=True)
class _RangeResult:
    records: int
    lines: int  # physical lines of the range: the next range's line numbers start after them
    problems: list[Problem]
    id_hashes: array


@dataclass(frozen=True)
class _RangeCheck:
    """Checks one byte range of a file in a worker (picklable: the signature is inherited)."""

    shown: str
    max_line_bytes: int

    def __call__(self, path: Path, start: int, end: int) -> _RangeResult:
        assert _worker_signature is not None, "set by _check_file before the fork"
        problems: list[Problem] = []
        id_hashes = array("q")
        with _gc_paused():
            records, lines = _check_lines(path, self.shown, _worker_signature, id_hashes,
                                          problems, self.max_line_bytes, start, end)
        return _RangeResult(records, lines, problems, id_hashes)


def _check_lines(path: Path, shown: str, signature: Signature, id_hashes: array,
                 problems: list[Problem], max_line_bytes: int, start: int = 0,
                 end: int | None = None) -> tuple[int, int]:
    """The hot loop of tf validate: (records, physical lines) of the file or range."""
    validator, checks = signature.quick_check
    is_valid, add_hash = validator.is_valid, id_hashes.append
    count = number = 0
    for number, record, problem, _, _ in read_lines(path, max_line_bytes, start, end):
        if record is None:
            problems.append(Problem(shown, problem or "unreadable line", line=number))
            continue
        count += 1
        # Fast path: a valid record costs one is_valid call and one call per rule.
        if is_valid(record):
            for check in checks:
                if check(record) is not None:
                    problems.extend(example_problems(signature, record, shown, number))
                    break
        else:
            problems.extend(example_problems(signature, record, shown, number))
        record_id = record.get("id")
        if type(record_id) is str:
            add_hash(hash(record_id))
    return count, number


def example_problems(signature: Signature, record: dict, path: str = "<example>",
                     line: int | None = None) -> list[Problem]:
    """Every schema problem of one example; if it has none, every rule it breaks."""
    problems = [Problem(path, error.message, line=line, pointer=json_path(error.instance_path))
                for error in signature.validator.iter_errors(record)]
    if problems:
        return problems
    for rule in signature.rules:
        failure = rule.check(record)
        if failure is not None:
            problems.append(Problem(
                path, f"rule {rule.name}: {failure.detail} (rule: {rule.description})",
                line=line, pointer=failure.pointer, rule=rule.name))
    return problems


def _duplicate_hashes(id_hashes: array) -> set[int]:
    if len(id_hashes) < _NUMPY_DUPLICATE_SEARCH_FROM:
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
    for path in files:
        for line in read_lines(path, max_line_bytes):
            if line.record is None:
                continue
            record_id = line.record.get("id")
            if type(record_id) is str and hash(record_id) in duplicated:
                places.setdefault(record_id, []).append((path, line.number))
                states.setdefault(record_id, []).append((path.name, state(line.record),
                                                         _content_hash(line.record)))
    problems = []
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
