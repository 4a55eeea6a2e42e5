"""tf generate: synthetic examples where coverage is missing."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import TextOrJson, print_json
from tf_cli.settings import SynthesizeSettings


def command(
    signature: common.Signature,
    count: Annotated[int, common.count_option("Examples to plan.")] = 10,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", "-k", min=1, max=20, metavar="N", show_default=False,
        help="Examples asked for per LM call (default: params.yaml's synthesize.batch_size, "
             f"{SynthesizeSettings.batch_size} when unset).")] = None,
    fill_gaps: Annotated[bool, typer.Option("--fill-gaps", help="Target the cells `tf coverage "
                                            "--gaps` names, most needed first.")] = False,
    output_format: common.TextOrJsonFormat = TextOrJson.text,
) -> None:
    """Generate examples with the configured LM into datasets/<sig>/synthetic.jsonl
    (review: pending). Exit 1 if none of the planned examples was accepted; exit 0 with
    the reason when nothing could be planned (no gaps, or the synthetic share is at its
    cap)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tf_cli.generate import GenerateOptions, generate
    from tf_cli.layout import report_path
    from tf_cli.records import write_json

    project = common.project()
    bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                   MofNCompleteColumn(), console=console.err(), transient=True,
                   disable=not console.err().is_terminal)
    with common.DSPyLog(project, signature, "generate"), bar:
        task = bar.add_task("generating (batches)", total=None)
        options = GenerateOptions(count, batch_size or project.settings.synthesize.batch_size,
                                  fill_gaps, step="generate")
        summary = generate(project, signature, options,
                           progress=lambda done, total: bar.update(task, completed=done,
                                                                   total=total))
    data = summary.to_json()
    if summary.planned:  # the LM was called: the run's report is committed with its examples
        write_json(report_path(project, signature, "generate"), data)
    if output_format is TextOrJson.json:
        print_json(data)
    else:
        from tf_cli.render.generate import summary_lines

        for line in summary_lines(data, summary.failures, signature):
            console.out(line)
    if summary.planned and not summary.accepted:
        raise typer.Exit(1)
