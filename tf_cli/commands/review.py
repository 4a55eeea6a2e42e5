"""tf review: approve, reject, edit or skip pending generated and captured examples."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.errors import EXIT_INTERRUPTED, UsageError
from tf_cli.words import plural


def command(
    signature: common.Signature,
    approve_all: Annotated[bool, typer.Option("--approve-all", help="Approve every pending "
                                              "example matching --where, without asking.")]
        = False,
    where: Annotated[str | None, typer.Option(
        "--where", metavar="SQL", help="SQL filter (DuckDB, over inputs.*, outputs.*, "
        "metadata.*): the examples to review, or to approve with --approve-all.")] = None,
) -> None:
    """Walk pending examples (those --where selects) one at a time: approve (moves it into
    examples.jsonl), reject with a reason, edit in $EDITOR (re-validated), or skip. On a
    terminal each decision is one key."""
    from tf_cli import review

    project = common.project()
    if approve_all:
        if not where:
            raise UsageError("--approve-all needs --where SQL",
                             hint="e.g. --where \"metadata.provenance.strategy = "
                                  "'fresh_scenario'\", or --where true for all")
        ids, left = review.approve_where(project, signature, where)
        for example_id in ids:
            console.out(f"approved {example_id}")
        for reason in left:
            console.error(f"left pending, it breaks a check: {reason}")
        console.note(f"{plural(len(ids), 'example')} approved"
                     + (f", {len(left)} left pending (fix them with tf review)" if left else ""))
        return
    try:
        counts = review.session(project, signature, _line, console.out, _key, where)
    except (KeyboardInterrupt, EOFError):
        console.error("stopped; every decision made so far is saved")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    waiting = len(review.pending(project, signature))
    console.note(", ".join(f"{n} {what}" for what, n in counts.items())
                 + f"; {plural(waiting, 'example')} still pending")


def _terminal() -> bool:
    return sys.stdin.isatty()


def _key(prompt: str) -> str:
    """One decision: a single key on a terminal (Enter and spaces are passed over), else a
    line (tests and scripts drive tf review through stdin)."""
    if not _terminal():
        return common.read_line(prompt)
    import click

    sys.stdout.write(prompt)
    sys.stdout.flush()
    while not (pressed := click.getchar().strip()):
        pass
    sys.stdout.write(pressed + "\n")
    return pressed


def _line(prompt: str) -> str:
    """A line, such as a reason; on a terminal, what was typed ahead after the key (an
    Enter pressed out of habit) is dropped first, so it cannot answer for the reviewer."""
    if _terminal():
        try:
            import termios  # not on Windows: nothing to drop there
        except ImportError:
            termios = None  # type: ignore[assignment]
        if termios is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
    return common.read_line(prompt)
