"""tf lm check: is the configured language model reachable, and does it answer in shape?"""

from __future__ import annotations

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import print_json

app = typer.Typer(help="The language model (lm in params.yaml, TF_LM_* variables).",
                  no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Send one short request; report the model, latency and whether structured output
    parses. Exit 1 when the model cannot be reached."""
    from tf_cli import lm

    result = lm.check(common.project().lm)
    print_json(result)
    if not result["structured_output"]:
        console.note("the model answered, but not in the structure DSPy asked for", "yellow")
