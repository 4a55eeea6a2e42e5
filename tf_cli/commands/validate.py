"""tf validate: check datasets against their schemas and rules."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import MaxLineBytes, Paths, TextOrJson, print_json
from tf_cli.records import DEFAULT_MAX_LINE_BYTES
from tf_cli.words import plural


def command(
    paths: Paths = None,
    signature: Annotated[str | None, common.signature_option(
        "Validate the PATHs against this signature's schema (needed for files outside "
        "datasets/).")] = None,
    output_format: common.TextOrJsonFormat = TextOrJson.text,
    max_line_bytes: MaxLineBytes = DEFAULT_MAX_LINE_BYTES,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, metavar="N", help="Processes that check a large file "
        "(16 MB or more) together. Default: one per usable core.")] = None,
    incremental: Annotated[bool, typer.Option(
        "--incremental", help="Skip the parts of a file unchanged since it last checked "
        "clean in this clone (recorded in .git/tf/); duplicate ids are still checked "
        "against every line. For pre-commit hooks.")] = False,
) -> None:
    """Validate examples against their signature's JSON Schema and rules.

    Reports every problem as PATH:LINE: $.json.path: message. Exit 0 when valid,
    1 when problems were found, 2 on a usage or configuration error.
    """
    from tf_cli.validate import validate

    report = validate(common.project(), paths, signature, max_line_bytes, jobs, incremental)
    if output_format is TextOrJson.json:
        print_json(report.to_json())
    else:
        for problem in report.problems:
            console.out(str(problem))
        scope = (f"{plural(report.examples, 'example')} in {plural(report.files, 'file')} "
                 f"of {plural(report.signatures, 'signature')}")
        if report.unchanged_lines:
            scope += f" ({plural(report.unchanged_lines, 'unchanged line')} not checked again)"
        if report.problems:
            console.note(f"{plural(len(report.problems), 'problem')} in {scope}", "red")
        else:
            console.note(f"ok: {scope}", "green")
    raise typer.Exit(report.exit_code)
