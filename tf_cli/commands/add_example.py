"""tf add-example: add an example interactively, or from JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.errors import EXIT_CHECK_FAILED, EXIT_INTERRUPTED, TfError, UsageError
from tf_cli.words import plural


def command(
    signature: common.Signature,
    from_json: Annotated[Path | None, typer.Option(
        "--from-json", metavar="FILE", help="Add examples from FILE (or - for stdin) "
        "instead of asking: a JSON object, a JSON array, or JSONL. ids are assigned when "
        "missing.",
        allow_dash=True)] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Commit the new examples with a "
                                         "message naming the signature and ids.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --from-json: check every example (schema, rules, ids "
        "already used) and write nothing.")] = False,
) -> None:
    """Add examples to datasets/<signature>/examples.jsonl, checked like tf validate.

    Without --from-json, asks for every field in schema order, checks each answer at once,
    and each rule as soon as its fields are answered, and saves an example only when you
    confirm. Ctrl-C or end of input keeps the examples saved so far and nothing else.
    """
    from tf_cli.add_example import add_examples, interactive_session, parse_examples

    project = common.project()
    if dry_run and (from_json is None or commit):
        raise UsageError("--dry-run checks examples given with --from-json, and commits "
                         "nothing: use it with --from-json and without --commit")
    if from_json is not None:
        where = "stdin" if str(from_json) == "-" else str(from_json)
        try:
            text = sys.stdin.buffer.read() if where == "stdin" else from_json.read_bytes()
        except OSError as exc:
            raise TfError(f"{from_json}: cannot read: {exc.strerror}") from None
        result = add_examples(project, signature, parse_examples(text, where), where, commit,
                              dry_run)
        if result.problems:
            for problem in result.problems:
                console.out(str(problem))
            console.note(f"nothing added: {plural(len(result.problems), 'problem')}", "red")
            raise typer.Exit(EXIT_CHECK_FAILED)
        if dry_run:
            console.note(f"{plural(len(result.ids), 'example')} would be added (dry run: nothing "
                         "written)")
            return
    else:
        result = interactive_session(project, signature, _ask, console.out, commit)
        _report_session(project, result, commit)
        return
    for example_id in result.ids:
        console.out(f"added {example_id}")
    if result.path is not None:
        console.note(f"{plural(len(result.ids), 'example')} added to "
                     f"{project.display(result.path)}")
    if result.commit:
        console.note(f"committed: {result.commit}")


def _report_session(project, result, commit: bool) -> None:
    """What an interactive session saved (ids, file) and what it did not, however it
    ended; exit 130 after Ctrl-C, 1 when input ended in the middle of an example."""
    for example_id in result.ids:
        console.out(f"added {example_id}")
    shown = project.display(result.path)
    stopped = {"interrupt": "interrupted", "eof": "input ended"}.get(result.stopped or "")
    lines = []
    if result.ids:
        noun = "example" if len(result.ids) == 1 else "examples"
        lines.append(f"saved {len(result.ids)} {noun} to {shown}: {', '.join(result.ids)}")
    if result.declined:
        noun = "example" if result.declined == 1 else "examples"
        lines.append(f"{result.declined} {noun} not saved (you answered no)")
    nothing = "" if result.ids else "; nothing was written"
    if stopped and result.unsaved:
        lines.append(f"{stopped}: the example being entered was not saved{nothing}")
    elif stopped or not result.ids:
        lines.append(f"{stopped or 'done'}{nothing}")
    if result.commit:
        lines.append(f"committed: {result.commit}")
    elif result.ids and stopped and commit:
        lines.append(f"not committed ({stopped}): commit {shown} yourself")
    for line in lines:
        (console.error if stopped and line.startswith(stopped) else console.note)(line)
    if result.stopped == "interrupt":
        raise typer.Exit(EXIT_INTERRUPTED)
    if result.stopped == "eof" and result.unsaved:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _ask(prompt: str) -> str:
    return common.read_line(prompt)
