"""tf import: seed a signature's examples from CSV, JSON, JSONL or YAML."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.errors import EXIT_CHECK_FAILED
from tf_cli.words import plural


class InputFormat(StrEnum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"
    yaml = "yaml"


def command(
    file: Annotated[Path, typer.Argument(metavar="FILE", show_default=False,
                                         help="CSV, TSV, JSON, JSONL or YAML file.")],
    signature: common.Signature,
    mapping: Annotated[list[str] | None, typer.Option(
        "--map", metavar="SRC=DEST", help="Source column or key SRC fills field DEST "
        "(e.g. code=inputs.implementation). Repeatable.")] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", metavar="FIELD=VALUE", help="Set FIELD to VALUE on every row, e.g. "
        "metadata.category=api. Repeatable.")] = None,
    input_format: Annotated[InputFormat | None, typer.Option(
        "--input-format", help="The format of FILE (default: from its extension).",
        show_default=False)] = None,
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", metavar="FILE", help="Write rejected rows (row number, row, every "
        "reason) to this JSONL file; git ignores names ending in .rejects.jsonl, e.g. "
        "tickets.rejects.jsonl.")] = None,
    all_or_nothing: Annotated[bool, typer.Option(
        "--all-or-nothing", help="Import nothing if any row is rejected.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write "
                                          "nothing.")] = False,
    encoding: Annotated[str, typer.Option("--encoding", metavar="NAME",
                                          help="Text encoding of FILE.")] = "utf-8",
    inputs_only: Annotated[bool, typer.Option(
        "--inputs-only", help="Rows hold inputs only: add them to prompts.jsonl for "
        "`tf bootstrap` to label.")] = False,
) -> None:
    """Import examples: valid rows are appended (atomically), rejected rows reported.

    Exit 0 when every row was imported or skipped as a duplicate, 1 when rows were
    rejected, 2 when the file or an option is unusable (then nothing is written).
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from tf_cli.importing import ImportOptions, import_file, parse_assignments

    options = ImportOptions(
        format=input_format.value if input_format else None,
        mapping=parse_assignments(mapping or [], "--map"),
        sets=parse_assignments(sets or [], "--set"), all_or_nothing=all_or_nothing,
        dry_run=dry_run, encoding=encoding, rejects=rejects, inputs_only=inputs_only)
    project = common.project()
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=console.err(), transient=True,
                  disable=not console.err().is_terminal) as bar:
        task = bar.add_task(f"importing {file.name}", total=None)
        result = import_file(project, file, signature, options,
                             progress=lambda done, total: bar.update(task, completed=done,
                                                                     total=total))
    for reject in result.rejected[:20]:
        console.out(f"{file}:{reject.row}: rejected: {'; '.join(reject.reasons)}")
    if len(result.rejected) > 20:
        console.out(f"... {plural(len(result.rejected) - 20, 'more rejected row')}"
                    + (f" in {rejects}" if rejects else ": pass --rejects FILE to see all"))
    if result.ignored_columns:
        console.note("ignored columns (no field of that name; use --map NAME=FIELD): "
                     + ", ".join(sorted(result.ignored_columns)))
    where = project.display(result.path) if result.path is not None else str(file)
    if dry_run:
        summary = f"{result.accepted:,} would be imported (dry run: nothing written)"
    elif all_or_nothing and result.rejected:
        summary = "nothing imported (--all-or-nothing)"
    else:
        summary = f"{len(result.imported):,} imported into {where}"
    console.note(f"{plural(result.rows, 'row')}: {summary}; {len(result.rejected):,} rejected, "
                 f"{plural(len(result.duplicates), 'duplicate')} skipped",
                 "red" if result.rejected else "green")
    if rejects is not None and result.rejected and not dry_run:
        console.note(f"rejected rows, with every reason: {rejects}")
    if result.rejected:
        raise typer.Exit(EXIT_CHECK_FAILED)

