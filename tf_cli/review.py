"""`tf review`: decide on pending synthetic, bootstrap and captured examples.

Approve moves the example into examples.jsonl with review: approved, the reviewer (git
config user.name) and the date; reject keeps it where it is with review: rejected and the
reason, so the pipeline drops it and the generator never makes the same content again;
edit opens $EDITOR and re-validates; skip leaves it pending. Every decision is written at
once, so a session can stop anywhere; the result is a Git diff a pull request shows.

Every write goes through tf_cli.writer: an approval is a crash-safe move under both files'
locks, and lines of the pending file that cannot be parsed are kept byte for byte.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson

from tf_cli import git, writer
from tf_cli.counting import PENDING, review_status, state
from tf_cli.errors import UsageError
from tf_cli.ids import now
from tf_cli.layout import EXAMPLES_FILE, PENDING_FILES
from tf_cli.project import Project, require_regular
from tf_cli.records import read_lines
from tf_cli.validate import example_problems


@dataclass(frozen=True)
class Pending:
    path: Path
    record: dict


def pending(project: Project, signature: str) -> list[Pending]:
    found = []
    for name in PENDING_FILES:
        found += _pending_in(project.dataset_dir(signature) / name)
    return found


def _pending_in(path: Path) -> list[Pending]:
    """The pending examples of a file (a record without a string id is not one: tf
    validate reports it)."""
    if not path.exists():
        return []
    require_regular(path)
    return [Pending(path, line.record) for line in read_lines(path)
            if line.record is not None and isinstance(line.record.get("id"), str)
            and state(line.record) == PENDING]


def reviewer(project: Project) -> str:
    return git.user_name(project.root) or os.environ.get("USER", "unknown")


def approve(project: Project, items: list[Pending], who: str) -> None:
    """Move the examples into examples.jsonl, marked approved: per pending file, one
    append and one rewrite, under both files' locks."""
    for path in sorted({item.path for item in items}):
        shown = {item.record["id"]: item.record for item in items if item.path == path}
        decided = {i: _decided(record, "approved", who) for i, record in shown.items()}
        writer.move(path, path.parent / EXAMPLES_FILE, decided, shown)


def reject(item: Pending, who: str, reason: str) -> None:
    writer.replace_one(item.path, item.record, _decided(item.record, "rejected", who, reason))


def replace(item: Pending, record: dict) -> Pending:
    writer.replace_one(item.path, item.record, record)
    return Pending(item.path, record)


def settle_moves(project: Project, signature: str) -> int:
    """Finish approvals a crash interrupted: a pending copy of an example that is already
    approved in examples.jsonl is removed. Returns how many were removed."""
    target = project.dataset_dir(signature) / EXAMPLES_FILE
    removed = 0
    for name in PENDING_FILES:
        source = project.dataset_dir(signature) / name
        if not source.exists() or not target.exists():
            continue
        with writer.locked(source, target):
            waiting = {p.record["id"] for p in _pending_in(source)}
            approved = {line.record["id"]: line.record for line in read_lines(target)
                        if line.record is not None and isinstance(line.record.get("id"), str)
                        and line.record["id"] in waiting
                        and review_status(line.record) == "approved"}
            if approved:
                removed += writer.rewrite(source, _without_approved_copies(approved))
    return removed


def _without_approved_copies(approved: dict[str, dict]):
    """A `writer.rewrite` change that drops the pending copies of these approved examples."""
    def change(record: dict) -> dict | None:
        record_id = record.get("id")
        copy_of = approved.get(record_id) if isinstance(record_id, str) else None
        if copy_of is not None and state(record) == PENDING and \
                writer.same_example(record, copy_of):
            return None
        return record
    return change


def _decided(record: dict, status: str, who: str, reason: str | None = None) -> dict:
    review = {"status": status, "reviewer": who, "date": now()}
    if reason:
        review["reason"] = reason
    return {**record, "metadata": {**record["metadata"], "review": review}}


def approve_where(project: Project, signature: str, where: str
                  ) -> tuple[list[str], list[str]]:
    """Approve every valid pending example matching the SQL filter. Returns the approved
    ids, and why each matching example that breaks the schema or rules was left pending."""
    import duckdb

    from tf_cli import duck

    reason = duck.expression_problem(where)  # one expression, as in params.yaml
    if reason:
        raise UsageError(f"--where: {reason}: {where!r}")
    settle_moves(project, signature)
    items = pending(project, signature)
    if not items:
        return [], []
    loader = project.schemas
    types = duck.columns(loader, loader.signature(signature))
    files = sorted({item.path for item in items})
    connection = duck.connect(files)
    try:
        matching = {row[0] for row in connection.execute(
            f"SELECT id FROM {duck.source_sql(files, types)} WHERE {where}").fetchall()}
    except duckdb.Error as exc:
        raise UsageError(f"--where: DuckDB rejects the SQL: {str(exc).splitlines()[0]}") \
            from None
    finally:
        connection.close()
    compiled = loader.signature(signature)
    chosen, left = [], []
    for item in (item for item in items if item.record["id"] in matching):
        problems = example_problems(compiled, item.record)
        if problems:
            left.append(f"{item.record['id']} ({item.path.name}): {problems[0].pointer}: "
                        f"{problems[0].message}")
        else:
            chosen.append(item)
    approve(project, chosen, reviewer(project))
    return [item.record["id"] for item in chosen], left


def session(project: Project, signature: str, ask, say) -> dict[str, int]:
    """Walk the pending examples one at a time; returns how many got each decision."""
    project.require_signature(signature)
    compiled = project.schemas.signature(signature)
    settled = settle_moves(project, signature)
    if settled:
        say(f"finished {settled} approval(s) that an interrupted run left half done")
    items = pending(project, signature)
    counts = {"approved": 0, "rejected": 0, "edited": 0, "skipped": 0}
    who = reviewer(project)
    say(f"{len(items)} pending examples of {signature}; reviewer: {who}")
    for index, item in enumerate(items, 1):
        while True:
            say(f"\n[{index}/{len(items)}] {item.path.name}  id {item.record['id']}")
            say(orjson.dumps(item.record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
                .decode())
            answer = ask("[a]pprove, [r]eject, [e]dit, [s]kip, [q]uit? ").strip().lower()
            if answer == "a":
                problems = example_problems(compiled, item.record)
                if problems:
                    say("not approved, it breaks these checks (edit or reject it):")
                    for problem in problems:
                        say(f"  {problem.pointer}: {problem.message}")
                    continue
                if _saved(say, approve, project, [item], who):
                    counts["approved"] += 1
                break
            if answer == "r":
                reason = ask("reason: ").strip() or "no reason given"
                if _saved(say, reject, item, who, reason):
                    counts["rejected"] += 1
                break
            if answer == "e":
                edited = _edit(item.record, say)
                if edited is not None:
                    problems = example_problems(compiled, edited)
                    if problems:
                        say("not saved, the edit breaks these checks:")
                        for problem in problems:
                            say(f"  {problem.pointer}: {problem.message}")
                    elif _saved(say, replace, item, edited):
                        item = Pending(item.path, edited)
                        counts["edited"] += 1
                    else:
                        break
                continue
            if answer == "s":
                counts["skipped"] += 1
                break
            if answer == "q":
                return counts
            say("answer a, r, e, s or q")
    return counts


def _saved(say, write, *args) -> bool:
    """Run one decision's write; when another review got there first, say so and go on."""
    try:
        write(*args)
    except writer.WriteFailed as exc:
        say(f"not saved: {exc}")
        return False
    return True


def _edit(record: dict, say) -> dict | None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as tmp:
        tmp.write(orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    try:
        done = subprocess.run([*shlex.split(editor), tmp.name])
        if done.returncode:
            say(f"the editor exited with {done.returncode}; nothing changed")
            return None
        try:
            edited = orjson.loads(Path(tmp.name).read_bytes())
        except orjson.JSONDecodeError as exc:
            say(f"not saved: invalid JSON at line {exc.lineno}: {exc.msg}")
            return None
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    if not isinstance(edited, dict):
        say("not saved: the example must stay one JSON object")
        return None
    if edited.get("id") != record["id"]:
        say("not saved: the id cannot change")
        return None
    return edited
