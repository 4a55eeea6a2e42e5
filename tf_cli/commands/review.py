"""tf review: approve, reject, edit or skip pending generated and captured examples."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.errors import EXIT_INTERRUPTED, UsageError


def command(
    signature: common.Signature,
    approve_all: Annotated[bool, typer.Option("--approve-all", help="Approve every pending "
                                              "example matching --where, without asking.")]
        = False,
    where: Annotated[str | None, typer.Option(
        "--where", metavar="SQL", help="SQL filter for --approve-all (DuckDB, over "
        "inputs.*, outputs.*, metadata.*).")] = None,
) -> None:
    """Walk pending examples one at a time: approve (moves it into examples.jsonl),
    reject with a reason, edit in $EDITOR (re-validated), or skip."""
    from tf_cli import review

    project = common.project()
    if where and not approve_all:
        raise UsageError("--where selects what --approve-all approves; the interactive review "
                         "shows every pending example",
                         hint=f"tf review --signature {signature} --approve-all --where SQL")
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
        console.note(f"{len(ids)} examples approved"
                     + (f", {len(left)} left pending (fix them with tf review)" if left else ""))
        return
    try:
        counts = review.session(project, signature, input, console.out)
    except (KeyboardInterrupt, EOFError):
        console.error("stopped; every decision made so far is saved")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    console.note(", ".join(f"{n} {what}" for what, n in counts.items()))
