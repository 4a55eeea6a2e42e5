"""tf lm check: is the configured language model reachable, and does it answer in shape?"""

from __future__ import annotations

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import print_json

app = typer.Typer(help="The language model (lm in params.yaml, TF_LM_* variables).",
                  no_args_is_help=True)


@app.command("check", cls=common.Command)
def check(output_format: common.TextOrJsonFormat = common.TextOrJson.text) -> None:
    """Send one short request; report the model, latency and whether structured output
    parses. Exit 1 when the model cannot be reached."""
    from tf_cli import lm

    result = lm.check(common.project().lm)
    if output_format is common.TextOrJson.json:
        print_json(result)
    else:
        console.out(f"model: {result['model']}"
                    + (f" at {result['api_base']}" if result["api_base"] else ""))
        console.out(f"answered in {result['latency_s']} s; structured output: "
                    f"{'parses' if result['structured_output'] else 'does not parse'} "
                    f"({result['detail']})")
        used = result["response_format"]
        console.out(f"response format: {used['used']} (lm.structured_output: "
                    f"{used['structured_output']})"
                    + "".join(f"; refused {refusal}" for refusal in used["refused"]))
        console.out(f"token limit: {result['max_tokens']} in {result['token_limit_field']}; "
                    "a timed-out request is "
                    + ("retried" if result["retries_after_timeout"] else
                       "not retried (a server on this machine or a private network)"))
    if not result["structured_output"]:
        console.note("the model answered, but not in the structure DSPy asked for", "yellow")
