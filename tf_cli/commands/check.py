"""tf check: the CI gate (validation + coverage requirements)."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import TextMarkdownJson, print_json
from tf_cli.words import plural


def command(
    output_format: common.TextMarkdownJsonFormat = TextMarkdownJson.text,
    base: Annotated[str | None, typer.Option(
        "--base", metavar="REV", help="Include `tf diff REV` (what the change adds) in the "
        "report.")] = None,
    incremental: Annotated[bool, typer.Option(
        "--incremental", help="Validate only what changed since a file last checked clean "
        "(records in .git/tf/, as tf validate --incremental; CI can cache them).")] = False,
) -> None:
    """Validate every dataset and check every coverage requirement (the CI gate).

    Exit 1 when validation finds a problem or an error-level requirement fails; warn-level
    requirements are shown and pass. --format markdown writes a pull-request summary.
    """
    from tf_cli.check import run_check
    from tf_cli.render.check import markdown, text_lines

    project = common.project()
    result = run_check(project, incremental)
    changes = None
    if base:
        from tf_cli.diff import diff

        changes = diff(project, base)
    if output_format is TextMarkdownJson.json:
        print_json({**result.to_json(), **({"diff": changes.to_json()} if changes else {})})
    elif output_format is TextMarkdownJson.markdown:
        console.out(markdown(result, changes))
    else:
        for line in text_lines(result):
            console.out(line)
        if changes:
            from tf_cli.render.diff import text

            console.out(text(changes))
    verdict = "passed" if result.passed else "failed"
    console.note(f"tf check {verdict}: "
                 f"{plural(len(result.validation.problems), 'validation problem')}, "
                 f"{plural(result.failed_requirements, 'error requirement')} failed, "
                 f"{plural(result.warnings, 'warning')}", "green" if result.passed else "red")
    raise typer.Exit(result.exit_code)
