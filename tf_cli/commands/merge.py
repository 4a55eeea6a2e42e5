"""tf merge-driver: Git's merge driver for dataset files (`make hooks` installs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tf_cli import console
from tf_cli.errors import EXIT_CHECK_FAILED, EXIT_OK


def command(
    base: Annotated[Path, typer.Argument(metavar="BASE",
                                         help="The common ancestor's version (git's %O).")],
    ours: Annotated[Path, typer.Argument(metavar="OURS",
                                         help="Our version (%A); the result replaces it.")],
    theirs: Annotated[Path, typer.Argument(metavar="THEIRS", help="Their version (%B).")],
    path: Annotated[str, typer.Argument(metavar="PATH",
                                        help="The file's path in the repository (%P).")],
    marker_size: Annotated[int, typer.Option("--marker-size", min=1, metavar="N",
                                             help="Conflict marker length (%L).")] = 7,
) -> None:
    """Merge a dataset file by example id; git runs this (see `make hooks`).

    Exits 1, leaving conflict markers, when an example was deleted on one side and edited
    on the other, edited differently on both, or added on both with different content.
    """
    from tf_cli.merge import merge_files
    from tf_cli.records import atomic_writer

    result = merge_files(base, ours, theirs, marker_size)
    with atomic_writer(ours) as out:
        out.write(result.content)
    for conflict in result.conflicts:
        console.note(conflict.message(path))
    raise typer.Exit(EXIT_CHECK_FAILED if result.conflicts else EXIT_OK)
