"""`tf prune`: retire examples by the policies in params.yaml's `lifecycle` section, and
restore them.

Policies (each off when null):
- max_age_days: per metadata.source, the age (from metadata.created_at) past which an
  example retires;
- min_quality: an example whose metadata.quality.score is lower retires;
- max_per_cell: at most this many counted examples per cell of balance.cell_dimensions
  (computed by DuckDB from the coverage SQL); the best are kept: human-sourced first,
  then higher quality, then newer;
- harmful_runs: a demo the effect stage flagged harmful in this many recorded runs in a
  row (tf_cli.effect.harmful_streaks) retires.

Nothing is deleted: a retired example moves to datasets/<sig>/retired.jsonl with
metadata.retired {date, reason, from}, through tf_cli.writer.move (both files locked, the
target written before the source, each replaced atomically). `restore` moves it back to
the file it came from, without metadata.retired, so the line is as it was. Both commit the
files they changed, and nothing else, as one commit (tf_cli.git.commit); they refuse
to start when those files have changes not committed yet, so the commit shows exactly the
moved lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tf_cli import git, writer
from tf_cli.counting import COUNTED, state
from tf_cli.errors import UsageError
from tf_cli.ids import now, parse_time
from tf_cli.layout import HUMAN_SOURCES, PIPELINE_SOURCE_FILES, RETIRED_FILE
from tf_cli.project import Project
from tf_cli.records import read_lines
from tf_cli.words import plural


@dataclass(frozen=True)
class Retirement:
    signature: str
    file: str  # the file it is in now (examples.jsonl, synthetic.jsonl, ...)
    id: str
    reasons: tuple[str, ...]
    # The example as the policies judged it: if the file holds anything else by the time
    # it is moved, nothing is moved (tf_cli.writer.move).
    record: dict = field(repr=False, compare=False, default_factory=dict)

    def to_json(self) -> dict:
        return {"signature": self.signature, "file": self.file, "id": self.id,
                "reasons": list(self.reasons)}


def plan(project: Project, signatures: list[str], today: datetime | None = None
         ) -> list[Retirement]:
    """What the policies would retire, with every reason, per signature in file order."""
    policy = project.settings.lifecycle
    today = today or datetime.now(UTC)
    found: list[Retirement] = []
    for signature in signatures:
        examples = _examples(project, signature)
        reasons: dict[str, list[str]] = defaultdict(list)
        for _, record in examples:
            for reason in _own_reasons(record, policy, today):
                reasons[record["id"]].append(reason)
        if policy.harmful_runs:
            from tf_cli import effect

            streaks = effect.harmful_streaks(project, signature,
                                             effect.measured_now(project, signature))
            for _, record in examples:
                runs = streaks.get(record["id"], 0)
                if runs >= policy.harmful_runs:
                    reasons[record["id"]].append(
                        f"flagged harmful by the effect stage in {runs} runs in a row "
                        f"(lifecycle.harmful_runs {policy.harmful_runs})")
        if policy.max_per_cell:
            staying = [(p, r) for p, r in examples if r["id"] not in reasons]
            for example_id, reason in _over_cell_cap(project, signature, staying,
                                                     policy.max_per_cell):
                reasons[example_id].append(reason)
        found += [Retirement(signature, path.name, record["id"], tuple(reasons[record["id"]]),
                             record)
                  for path, record in examples if record["id"] in reasons]
    return found


def retire(project: Project, retirements: list[Retirement], commit: bool) -> list[Path]:
    """Move each example to its signature's retired.jsonl; returns the files changed."""
    by_file: dict[tuple[str, str], dict[str, Retirement]] = defaultdict(dict)
    for item in retirements:
        by_file[(item.signature, item.file)][item.id] = item
    touched = _touched(project, {(s, f) for s, f in by_file}, {s for s, _ in by_file})
    if commit:
        _require_committed(project, touched)
    date = now()
    for (signature, file_name), items in by_file.items():
        source = project.dataset_dir(signature) / file_name
        shown = {example_id: item.record for example_id, item in items.items()}
        decided = {}
        for example_id, item in items.items():
            record = item.record
            metadata = {**record["metadata"], "retired": {
                "date": date, "reason": "; ".join(item.reasons), "from": file_name}}
            decided[example_id] = {**record, "metadata": metadata}
        writer.move(source, project.dataset_dir(signature) / RETIRED_FILE, decided, shown)
    if commit and retirements:
        signatures = sorted({r.signature for r in retirements})
        body = "\n".join(f"- {r.signature} {r.id} ({r.file}): {'; '.join(r.reasons)}"
                         for r in retirements)
        subject = (f"tf prune: retire {plural(len(retirements), 'example')} of "
                   f"{', '.join(signatures)}")
        git.commit(project.root, touched, f"{subject}\n\n{body}\n", hint=COMMIT_HINT)
    return touched


def restore(project: Project, ids: list[str], commit: bool) -> list[tuple[str, str, str]]:
    """Move each retired example back to the file it came from, as it was; returns
    (signature, id, file) for each."""
    wanted = set(ids)
    moves: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for signature in project.signatures():
        for path in project.retired_files(signature):
            for line in read_lines(path):
                record = line.record
                if record is None or record.get("id") not in wanted:
                    continue
                metadata = record.get("metadata")
                retired = metadata.get("retired") if isinstance(metadata, dict) else None
                if not isinstance(retired, dict) or retired.get("from") not in _RESTORABLE:
                    raise UsageError(f"{project.display(path)}:{line.number}: example "
                                     f"{record['id']} has no metadata.retired.from naming the "
                                     "file it came from; nothing was restored",
                                     hint="move it by hand, or run tf validate on the file")
                moves[(signature, retired["from"])][record["id"]] = record
    missing = wanted - {i for found in moves.values() for i in found}
    if missing:
        raise UsageError(f"not in any retired.jsonl: {', '.join(sorted(missing))}; nothing was "
                         "restored", hint="tf prune --retired lists the retired examples")
    touched = _touched(project, set(moves), {s for s, _ in moves})
    if commit:
        _require_committed(project, touched)
    done = []
    for (signature, file_name), records in moves.items():
        decided = {}
        for example_id, record in records.items():
            metadata = {k: v for k, v in record["metadata"].items() if k != "retired"}
            decided[example_id] = {**record, "metadata": metadata}
            done.append((signature, example_id, file_name))
        writer.move(project.dataset_dir(signature) / RETIRED_FILE,
                    project.dataset_dir(signature) / file_name, decided, records)
    if commit and done:
        body = "\n".join(f"- {s} {i} -> {f}" for s, i, f in done)
        git.commit(project.root, touched,
                   f"tf prune: restore {plural(len(done), 'example')}\n\n{body}\n",
                   hint=COMMIT_HINT)
    return done


def retired(project: Project, signatures: list[str]) -> list[dict]:
    """Every retired example: signature, id, from, date, reason."""
    found = []
    for signature in signatures:
        for path in project.retired_files(signature):
            for line in read_lines(path):
                record = line.record or {}
                info = record.get("metadata", {}).get("retired") if isinstance(
                    record.get("metadata"), dict) else None
                if isinstance(info, dict):
                    found.append({"signature": signature, "id": record.get("id"),
                                  "from": info.get("from"), "date": info.get("date"),
                                  "reason": info.get("reason")})
    return found


COMMIT_HINT = "the files are changed as reported; commit them yourself"
# The files an example can be retired from and restored to are the pipeline's source files
# (schemas/common.schema.json lists the same under metadata.retired.from).
_RESTORABLE = PIPELINE_SOURCE_FILES


def _examples(project: Project, signature: str) -> list[tuple[Path, dict]]:
    """(file, record) of every example a policy may retire: the records with a string id
    in the signature's example files (a line tf cannot read stays where it is)."""
    return [(path, line.record) for path in project.dataset_files(signature)
            if path.name in _RESTORABLE for line in read_lines(path)
            if line.record is not None and isinstance(line.record.get("id"), str)
            and isinstance(line.record.get("metadata"), dict)]


def _own_reasons(record: dict, policy, today: datetime) -> list[str]:
    metadata = record["metadata"]
    reasons = []
    source = metadata.get("source")
    limit = policy.max_age_days.get(source) if isinstance(source, str) else None
    created = parse_time(metadata.get("created_at"))
    if limit is not None and created is not None and (today - created).days > limit:
        reasons.append(f"{(today - created).days} days old, over lifecycle.max_age_days."
                       f"{source} {limit}")
    quality = metadata.get("quality")
    score = quality.get("score") if isinstance(quality, dict) else None
    if policy.min_quality is not None and isinstance(score, int | float) and \
            score < policy.min_quality:
        reasons.append(f"quality {score} below lifecycle.min_quality {policy.min_quality}")
    return reasons


def _over_cell_cap(project: Project, signature: str, examples: list[tuple[Path, dict]],
                   cap: int) -> list[tuple[str, str]]:
    """(id, reason) of the counted examples past `cap` in their cell of
    balance.cell_dimensions; the best `cap` of each cell stay."""
    from tf_cli.coverage.engine import example_buckets, require_dimensions

    dimensions = list(project.settings.balance.cell_dimensions)
    setting = ["balance", "cell_dimensions"]
    require_dimensions(project, signature, dimensions, setting)
    counted = [record for _, record in examples if state(record) == COUNTED]
    files = sorted({path for path, _ in examples})
    if not counted or not files:
        return []
    cells = example_buckets(project, signature, dimensions, files, setting)
    by_cell: dict[tuple, list[dict]] = defaultdict(list)
    for record in counted:
        by_cell[cells.get(record["id"], ())].append(record)
    over = []
    for cell, records in by_cell.items():
        records.sort(key=_keep_first)
        named = ", ".join(f"{d}={b}" for d, b in zip(dimensions, cell, strict=False))
        over += [(r["id"], f"cell {named} holds {len(records)}, over lifecycle.max_per_cell "
                  f"{cap} (the best {cap} stay)") for r in records[cap:]]
    return over


def _keep_first(record: dict):
    """Human-sourced first, then higher quality, then newer (then id, for a stable order)."""
    metadata = record["metadata"]
    quality = metadata.get("quality")
    score = quality.get("score") if isinstance(quality, dict) else None
    created = parse_time(metadata.get("created_at"))
    return (metadata.get("source") not in HUMAN_SOURCES,
            -float(score) if isinstance(score, int | float) else -1.0,
            -(created.timestamp() if created else 0.0), record["id"])


def _touched(project: Project, files: set[tuple[str, str]], signatures: set[str]) -> list[Path]:
    return sorted({project.dataset_dir(s) / f for s, f in files} |
                  {project.dataset_dir(s) / RETIRED_FILE for s in signatures})


def _require_committed(project: Project, paths: list[Path]) -> None:
    """The commit must hold the moved lines and nothing else: refuse when these files have
    changes git has not committed (staged or not)."""
    changed = git.uncommitted(project.root, paths)
    if changed:
        raise UsageError(f"{', '.join(changed)}: changes not committed yet; nothing was moved",
                         hint="commit or stash them first, so the prune commit shows only "
                              "the moved lines (or pass --no-commit)")


@dataclass(frozen=True)
class HeldBack:
    """A signature's planned retirements that were not made: without those examples an
    error-level coverage requirement that passes now would fail (tf check, CI)."""

    signature: str
    examples: int
    failing: tuple[str, ...]  # the requirements' labels

    def to_json(self) -> dict:
        return {"signature": self.signature, "examples": self.examples,
                "would_fail": list(self.failing)}


def hold_back(project: Project, planned: list[Retirement]
              ) -> tuple[list[Retirement], list[HeldBack]]:
    """The plan less the retirements of every signature they would take below an
    error-level coverage requirement: both sides measured in one scan, the way tf diff
    measures a change (coverage.engine.measure_change, nothing added)."""
    import tempfile

    from tf_cli.coverage.engine import measure_change

    by_signature: dict[str, set[str]] = defaultdict(set)
    for item in planned:
        by_signature[item.signature].add(item.id)
    held = []
    with tempfile.TemporaryDirectory() as folder:
        nothing = Path(folder) / "nothing.jsonl"
        nothing.touch()
        for signature, ids in by_signature.items():
            before, after = measure_change(project, signature,
                                           project.dataset_files(signature), nothing, ids)
            passing = {r.label for r in before.requirements
                       if r.level == "error" and r.passed}
            failing = tuple(r.label for r in after.requirements
                            if r.level == "error" and not r.passed and r.label in passing)
            if failing:
                held.append(HeldBack(signature, len(ids), failing))
    stopped = {h.signature for h in held}
    return [item for item in planned if item.signature not in stopped], held
