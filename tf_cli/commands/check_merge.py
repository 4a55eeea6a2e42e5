"""tf check-merge: deleted examples a merge brought back, for merges made without the
merge driver (CI runs it on every pull request's test merge)."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.errors import EXIT_CHECK_FAILED, EXIT_OK
from tf_cli.words import plural


def command(
    revision: Annotated[str, typer.Argument(metavar="REV",
                                            help="The merge commit to check.")] = "HEAD",
) -> None:
    """Check a merge commit: no example deleted on one side may come back, no id twice."""
    from tf_cli.merge import check_merge

    result = check_merge(common.project().root, revision)
    if not result.is_merge:
        console.note(f"{revision} is not a merge commit: nothing to check")
        raise typer.Exit(EXIT_OK)
    for problem in result.problems:
        console.out(problem)
    console.note(f"{revision} merges {' and '.join(result.parents)}: "
                 f"{plural(result.files, 'dataset file')} checked, "
                 f"{plural(len(result.problems), 'problem')}")
    raise typer.Exit(EXIT_CHECK_FAILED if result.problems else EXIT_OK)
