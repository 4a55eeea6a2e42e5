"""tf log: counts, targets and scores per commit that touched the data or reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import SignatureOption, TextOrJson, print_json
from tf_cli.errors import UsageError

# What matplotlib writes without extra packages.
PLOT_SUFFIXES = frozenset({".png", ".svg", ".pdf"})


def command(
    signature: SignatureOption = None,
    output_format: common.TextOrJsonFormat = TextOrJson.text,
    plot: Annotated[Path | None, typer.Option(
        "--plot", metavar="FILE", help="Also draw counts and scores over time into this "
        "file (.png, .svg or .pdf).")] = None,
    count: Annotated[int, common.count_option("Commits to read.")] = 200,
) -> None:
    """Walk the Git history of datasets/ and reports/: per commit and signature, the
    examples, the target, their freshness (median age in days at the commit) and mean
    quality score, and the optimization scores recorded then."""
    from tf_cli.log import history
    from tf_cli.log import plot as draw

    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot {plot}: give a file ending in "
                         f"{', '.join(sorted(PLOT_SUFFIXES))}")
    rows = history(common.project(), signature, count)
    if output_format is TextOrJson.json:
        print_json({"version": 1, "rows": [r.to_json() for r in rows]})
    else:
        from tf_cli.render.tables import log_table

        console.tables().print(log_table(rows))
    if plot is not None:
        draw(rows, plot)
        console.note(f"wrote {plot}")

