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
from tf_cli.file_check import example_problems
from tf_cli.file_safety import require_regular
from tf_cli.ids import now
from tf_cli.layout import EXAMPLES_FILE, PENDING_FILES
from tf_cli.project import Project
from tf_cli.records import read_lines
from tf_cli.words import plural


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
    check_where(where)
    settle_moves(project, signature)
    items = matching(project, signature, pending(project, signature), where)
    compiled = project.schemas.signature(signature)
    chosen, left = [], []
    for item in items:
        problems = example_problems(compiled, item.record)
        if problems:
            left.append(f"{item.record['id']} ({item.path.name}): {problems[0].pointer}: "
                        f"{problems[0].message}")
        else:
            chosen.append(item)
    approve(project, chosen, reviewer(project))
    return [item.record["id"] for item in chosen], left


def check_where(where: str) -> None:
    """One SQL expression, as in params.yaml, or a usage error before anything runs."""
    from tf_cli import duck

    reason = duck.expression_problem(where)
    if reason:
        raise UsageError(f"--where: {reason}: {where!r}")


def matching(project: Project, signature: str, items: list[Pending], where: str
             ) -> list[Pending]:
    """The pending examples the SQL filter selects (DuckDB over their files)."""
    import duckdb

    from tf_cli import duck

    if not items:
        return []
    loader = project.schemas
    types = duck.columns(loader, loader.signature(signature))
    files = sorted({item.path for item in items})
    with duck.session(files) as connection:
        try:
            selected = {row[0] for row in connection.execute(
                f"SELECT id FROM {duck.source_sql(files, types)} WHERE {where}").fetchall()}
        except duckdb.Error as exc:
            raise UsageError(f"--where: DuckDB rejects the SQL: {str(exc).splitlines()[0]}") \
                from None
    return [item for item in items if item.record["id"] in selected]


DECISION = "[a]pprove, [r]eject, [e]dit, [s]kip, [q]uit? "


def session(project: Project, signature: str, ask, say, key=None,
            where: str | None = None) -> dict[str, int]:
    """Walk the pending examples (those `where` selects, when given) one at a time;
    returns how many got each decision. `ask(prompt)` reads a line, `key(prompt)` one
    decision (a single key on a terminal; `ask` when not given), `say(text)` shows text.
    Every decision is written at once and confirmed in one line."""
    key = key or ask
    project.require_signature(signature)
    if where is not None:
        check_where(where)
    compiled = project.schemas.signature(signature)
    settled = settle_moves(project, signature)
    if settled:
        say(f"finished {settled} approval(s) that an interrupted run left half done")
    items = pending(project, signature)
    if where is not None:
        items = matching(project, signature, items, where)
    counts = {"approved": 0, "rejected": 0, "edited": 0, "skipped": 0}
    who = reviewer(project)
    selected = f" matching --where {where}" if where is not None else ""
    say(f"{plural(len(items), 'pending example')} of {signature}{selected}; reviewer: {who}")
    for index, item in enumerate(items, 1):
        draft: bytes | None = None  # the last edit that broke a check: e reopens it
        while True:
            record_id = item.record["id"]
            say(f"\n[{index}/{len(items)}] {item.path.name}  id {record_id}")
            say(orjson.dumps(item.record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
                .decode())
            if draft is not None:
                say("(your last edit is not saved, it breaks a check: e reopens it)")
            answer = key(DECISION).strip().lower()
            if answer == "a":
                problems = example_problems(compiled, item.record)
                if problems:
                    say("not approved, it breaks these checks (edit or reject it):")
                    for problem in problems:
                        say(f"  {problem.pointer}: {problem.message}")
                    continue
                if _saved(say, approve, project, [item], who):
                    counts["approved"] += 1
                    dropped = "; your unsaved edit was dropped" if draft is not None else ""
                    say(f"approved {record_id}: moved into {EXAMPLES_FILE}{dropped}")
                break
            if answer == "r":
                reason = ask("reason: ").strip() or "no reason given"
                if _saved(say, reject, item, who, reason):
                    counts["rejected"] += 1
                    say(f"rejected {record_id}: stays in {item.path.name}, marked rejected "
                        f"({reason})")
                break
            if answer == "e":
                opened = draft if draft is not None else _editable(item.record)
                text = _edit(opened, say)
                if text is None:
                    continue
                edited, broken = _read_edit(text, item.record, compiled)
                if edited is None or broken:
                    draft = _with_problems(text, broken)
                    say("not saved, the edit breaks these checks (e reopens your edit):")
                    for line in broken:
                        say(f"  {line}")
                    continue
                draft = None
                if edited == item.record:
                    say("no change")
                elif _saved(say, replace, item, edited):
                    item = Pending(item.path, edited)
                    counts["edited"] += 1
                    say(f"saved your edit of {record_id} in {item.path.name}; still pending "
                        "(a approves it)")
                else:
                    break
                continue
            if answer == "s":
                counts["skipped"] += 1
                say(f"skipped {record_id}: still pending")
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


COMMENT = b"//"  # lines of the edited file starting with it are notes, not the example


def _editable(record: dict) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _with_problems(text: bytes, problems: list[str]) -> bytes:
    """The edit as it was written, under notes saying what it breaks (a JSON line never
    starts with //, so they are told apart when it is read back)."""
    notes = [b"// not saved: this edit breaks these checks (lines starting with // are "
             b"ignored):"] + [b"//   " + p.encode() for p in problems]
    return b"\n".join(notes) + b"\n" + _without_notes(text)


def _without_notes(text: bytes, keep_lines: bool = False) -> bytes:
    """`text` without its // notes (blanked with `keep_lines`, so JSON errors name the
    lines the reviewer sees)."""
    lines = text.split(b"\n")
    if keep_lines:
        return b"\n".join(b"" if line.lstrip().startswith(COMMENT) else line for line in lines)
    return b"\n".join(line for line in lines if not line.lstrip().startswith(COMMENT))


def _edit(text: bytes, say) -> bytes | None:
    """Open `text` in $VISUAL or $EDITOR; the text written, or None when the editor fails."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as tmp:
        tmp.write(text)
    try:
        done = subprocess.run([*shlex.split(editor), tmp.name])
        if done.returncode:
            say(f"the editor exited with {done.returncode}; nothing changed")
            return None
        return Path(tmp.name).read_bytes()
    finally:
        Path(tmp.name).unlink(missing_ok=True)


def _read_edit(text: bytes, record: dict, compiled) -> tuple[dict | None, list[str]]:
    """The edited example, or why it cannot be saved."""
    try:
        edited = orjson.loads(_without_notes(text, keep_lines=True))
    except orjson.JSONDecodeError as exc:
        return None, [f"invalid JSON at line {exc.lineno}: {exc.msg}"]
    if not isinstance(edited, dict):
        return None, ["the example must stay one JSON object"]
    if edited.get("id") != record["id"]:
        return None, [f"the id cannot change (it is {record['id']})"]
    problems = example_problems(compiled, edited)
    return edited, [f"{p.pointer}: {p.message}" for p in problems]
