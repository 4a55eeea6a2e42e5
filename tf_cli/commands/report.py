"""tf report: the one-page HTML report a curator opens in a browser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import SignatureOption


def command(
    signature: SignatureOption = None,
    html: Annotated[Path | None, typer.Option(
        "--html", metavar="FILE", dir_okay=False,
        help="Where to write the page (default: summary/report.html).")] = None,
) -> None:
    """Write one self-contained HTML page (no network: everything inline): coverage per
    bucket and a heatmap per grid, gaps, the review queue, size and score history, which
    buckets and examples help the optimized program (the effect stage), and lifecycle status
    (what tf prune would retire). Open it in any browser; CI can publish it as an artifact."""
    from tf_cli import report
    from tf_cli.layout import report_page_path
    from tf_cli.records import atomic_writer
    from tf_cli.render.html import page

    project = common.project()
    target = html or report_page_path(project)
    built = report.build(project, [project.require_signature(signature)] if signature else None)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(target) as out:
        out.write(page(built).encode())
    console.note(f"wrote {project.display(target)}")
