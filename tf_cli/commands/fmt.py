"""tf fmt: rewrite dataset files into canonical JSONL."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import MaxLineBytes, Paths, TextOrJson, print_json
from tf_cli.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from tf_cli.records import DEFAULT_MAX_LINE_BYTES
from tf_cli.words import plural


def command(
    paths: Paths = None,
    check: Annotated[bool, typer.Option("--check", help="Change nothing; list the files "
                                        "that would change and exit 1 if any.")] = False,
    output_format: common.TextOrJsonFormat = TextOrJson.text,
    max_line_bytes: MaxLineBytes = DEFAULT_MAX_LINE_BYTES,
    incremental: Annotated[bool, typer.Option(
        "--incremental", help="With --check: skip the parts of a file unchanged since "
        "`tf validate --incremental` last found it clean. For pre-commit hooks.")] = False,
) -> None:
    """Rewrite JSONL files canonically: one compact object per line, keys sorted.

    Line order is kept (examples stay in insertion order). Files with lines that cannot
    be fixed without guessing are reported and left untouched.
    """
    from tf_cli.fmt import format_files

    if incremental and not check:
        raise UsageError("--incremental only goes with --check: a rewrite reads every line")
    result = format_files(common.project(), paths, check, max_line_bytes, incremental)
    if output_format is TextOrJson.json:
        print_json(result.to_json())
    else:
        for problem in result.problems:
            console.out(str(problem))
        verb = "would reformat" if check else "reformatted"
        for shown in result.changed:
            console.out(f"{verb} {shown}")
        console.note(f"{len(result.changed)} of {plural(result.files, 'file')} {verb}"
                     + (f", {plural(len(result.problems), 'line')} could not be fixed"
                        if result.problems else ""))
        if check and result.changed:
            console.note("fix: tf fmt (rewrites them canonically; the examples stay the same)")
    failed = result.problems or (check and result.changed)
    raise typer.Exit(EXIT_CHECK_FAILED if failed else EXIT_OK)
