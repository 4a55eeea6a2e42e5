"""The `tf` command: the root Typer app and the one place errors become exit codes.

Commands live in tf_cli/commands/ and stay thin: parse options, call one core function,
render. Heavy libraries (dspy, dvc, duckdb) are imported inside the functions that use
them, so `tf --help` and `tf validate` start fast.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
import typer.main

from tf_cli import console
from tf_cli.commands import (
    add_example,
    bootstrap,
    check,
    check_merge,
    common,
    coverage,
    diff,
    fmt,
    generate,
    import_,
    lm,
    log,
    merge,
    prune,
    report,
    review,
    sample,
    status,
    validate,
)
from tf_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, TfError

app = typer.Typer(
    name="tf",
    help="DSPy training data as code: validate, format and measure the examples of every "
    "signature in this repository.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        console.out(f"tf {version('tf-cli')}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show tf's version.")] = False,
    project: Annotated[
        Path | None,
        typer.Option("--project", "-C", metavar="DIR", help="The dataset repository "
                     "(default: the nearest folder at or above the working directory with a "
                     "schemas/ folder).",
                     file_okay=False, exists=True),
    ] = None,
) -> None:
    common.start(project)


# In the order `tf --help` lists them: check the data, measure it, add to it, review it.
COMMANDS = {
    "validate": validate, "fmt": fmt, "check": check, "coverage": coverage, "status": status,
    "sample": sample, "add-example": add_example, "import": import_, "generate": generate,
    "bootstrap": bootstrap, "review": review, "prune": prune, "diff": diff, "log": log,
    "report": report,
    "check-merge": check_merge, "merge-driver": merge,
}
HIDDEN = {"merge-driver"}  # git runs it (`make hooks` installs it), not people
for _name, _module in COMMANDS.items():
    app.command(_name, hidden=_name in HIDDEN, cls=common.Command)(_module.command)
app.add_typer(lm.app, name="lm")


@cache
def _click_command():
    """The click command tree typer builds from `app` (typer's own vendored click, hence no
    annotation here): built once per process (it reads every command's annotations, about
    25 ms), however often `run` is called in it (tests do)."""
    return typer.main.get_command(app)


def run(argv: list[str] | None = None) -> int:
    """Entry point of the console script: run the app and map every failure to an exit code."""
    try:
        # Without standalone mode click returns the code given to typer.Exit.
        code = _click_command().main(args=argv, prog_name="tf", standalone_mode=False)
    except TfError as exc:
        console.error(str(exc))
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # bad flags and arguments, as click reports them
        show = getattr(exc, "show", None)  # click's exceptions can print themselves
        if show is not None:
            show()
        else:
            console.error(str(exc))
        return EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        console.error("interrupted")
        return EXIT_INTERRUPTED
    except OSError as exc:  # a file tf cannot read or write: say which, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        console.error(f"{where}{exc.strerror or exc}")
        return EXIT_USAGE
    return code if isinstance(code, int) else 0


def main() -> None:
    sys.exit(run())
