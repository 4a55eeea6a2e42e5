"""`tf add-example --from-json`: add examples given as JSON, with the same checks as typing them.

All or nothing: if any example fails, none is added, and every problem is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tf_cli import git
from tf_cli.errors import UsageError
from tf_cli.examples import Existing, append, check_new, complete, dataset_file
from tf_cli.layout import MANUAL
from tf_cli.problems import Problem
from tf_cli.project import Project
from tf_cli.words import plural


@dataclass
class AddResult:
    ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None
    commit: str | None = None
    # The interactive session: examples the contributor chose not to save, how it stopped
    # ("interrupt", "eof", or None when the contributor ended it) and whether an example
    # was being entered then (it is not saved).
    declined: int = 0
    stopped: str | None = None
    unsaved: bool = False


def parse_examples(text: bytes, where: str) -> list[dict]:
    """A JSON object, a JSON array of objects, or JSONL."""
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{where}: no examples given")
    try:
        value = orjson.loads(stripped)
        items = value if isinstance(value, list) else [value]
    except orjson.JSONDecodeError:
        items = []
        for number, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise UsageError(f"{where}:{number}: invalid JSON: {exc.msg} (give one JSON "
                                 "object, a JSON array of objects, or one object per line)"
                                 ) from None
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise UsageError(f"{where}: example {index + 1} is not a JSON object")
    return items


def add_examples(project: Project, signature_name: str, items: list[dict],
                 where: str = "<input>", commit: bool = False,
                 dry_run: bool = False) -> AddResult:
    """Complete, check and append `items` to datasets/<signature>/examples.jsonl; with
    `dry_run`, every check runs (given ids against the dataset too) and nothing is
    written."""
    project.require_signature(signature_name)
    signature = project.schemas.signature(signature_name)
    existing = Existing.read(project, signature_name)
    result = AddResult()
    records = []
    for index, item in enumerate(items, 1):
        record = complete(item, source=MANUAL)
        problems = check_new(signature, record, existing, f"{where} example {index}")
        result.problems.extend(problems)
        if not problems:
            existing.add(record)
            records.append(record)
    if result.problems or dry_run:
        result.ids = [] if result.problems else [r["id"] for r in records]
        return result
    result.path = append(project, signature_name, records, existing)
    result.ids = [r["id"] for r in records]
    if commit:
        result.commit = _commit(project, result.path, signature_name, result.ids)
    return result


def interactive_session(project: Project, signature_name: str, ask, say,
                        commit: bool = False) -> AddResult:
    """Ask for examples one at a time until the contributor stops; save each on yes.

    Nothing is written before the contributor confirms an example, so Ctrl-C or the end of
    input at any question leaves the dataset as it was, with every example confirmed before
    it saved: the result says which (`ids`, `path`), how many were declined, and what was
    in progress when the session stopped (`stopped`: "interrupt" or "eof"; `unsaved`).
    """
    from tf_cli.coverage import measure
    from tf_cli.coverage.gaps import TotalGap
    from tf_cli.interview import Interview

    project.require_signature(signature_name)
    loader = project.schemas
    signature = loader.signature(signature_name)
    before = measure(project, [signature_name])[0]
    say(f"{signature_name}: {signature.instructions}\n")
    say(f"{plural(before.examples, 'example')}; target {before.target_examples}.")
    wanted = [g for g in before.gaps if not isinstance(g, TotalGap)][:3]
    if wanted:
        say("Most needed: " + "; ".join(f"{g.need} with {g.place}" for g in wanted))
    interview = Interview(loader, signature, ask, say)
    result = AddResult(path=dataset_file(project, signature_name))
    existing = Existing.read(project, signature_name)  # once: new ids are fresh ULIDs
    try:
        while True:
            result.unsaved = True
            record = complete(interview.example(), source=MANUAL)
            while problems := check_new(signature, record, existing):
                say("\nThe example breaks these checks:")
                for problem in problems:
                    say(f"  {problem.pointer}: {problem.message}")
                if not any(interview.revise(p.pointer or "") for p in problems[:1]):
                    say("Starting the example again.")
                    record = complete(interview.example(), source=MANUAL)
                    continue
                interview.check_rules()
                created = record["metadata"]["created_at"]
                record = complete({**interview.record, "id": record["id"], "metadata": {
                    **interview.record["metadata"], "created_at": created}}, source=MANUAL)
            say("\n" + orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
                .decode())
            if _yes(ask, "Save this example?"):
                append(project, signature_name, [record], existing)
                result.ids.append(record["id"])
                result.unsaved = False
                existing.add(record)
                after = measure(project, [signature_name])[0]
                say(f"Saved {record['id']}: {after.examples} examples (was {before.examples}).")
                for line in coverage_moves(before, after):
                    say(f"  {line}")
                before = after
            else:
                result.declined += 1
                result.unsaved = False
                say("Not saved.")
            if not _yes(ask, "Add another example?"):
                break
    except KeyboardInterrupt:
        result.stopped = "interrupt"
    except EOFError:
        result.stopped = "eof"
    if commit and result.ids and not result.stopped and result.path is not None:
        result.commit = _commit(project, result.path, signature_name, result.ids)
    return result


def _yes(ask, question: str) -> bool:
    while True:
        answer = ask(f"{question} [y/n] ").strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False


def coverage_moves(before, after) -> list[str]:
    """How the buckets and gaps of one signature changed, in words."""
    from tf_cli.coverage.gaps import TargetGap
    lines = []
    for dimension, counts in after.dimensions.items():
        for bucket, count in counts.items():
            old = before.dimensions.get(dimension, {}).get(bucket, 0)
            if count != old:
                lines.append(f"{dimension} = {bucket}: {old} -> {count}")
    old_gaps = {(g.requirement, g.place): g.need for g in before.gaps
                if not isinstance(g, TargetGap)}
    new_gaps = {(g.requirement, g.place): g.need for g in after.gaps}
    for key, need in old_gaps.items():
        if key not in new_gaps:
            lines.append(f"gap closed: {key[1]} ({key[0]})")
        elif new_gaps[key] < need:
            lines.append(f"gap {key[1]}: needs {new_gaps[key]} (was {need})")
    return lines


def _commit(project: Project, path: Path, signature: str, ids: list[str]) -> str:
    """Commit `path` alone, with a message naming the signature and the new ids."""
    noun = "example" if len(ids) == 1 else "examples"
    message = f"Add {len(ids)} {noun} to {signature}\n\n" + "\n".join(f"id: {i}" for i in ids)
    git.commit(project.root, [path], message, hint="the examples were added; commit them yourself")
    return message.splitlines()[0]
