"""The one error boundary of every stage: a TfError is a message and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable


def say(text: str, error: bool = False) -> None:
    """A line for the `dvc repro` log, control characters shown as escapes: reports and
    messages quote repository text (tf_cli.console.printable says why)."""
    from tf_cli.console import printable

    print(printable(text), file=sys.stderr if error else sys.stdout)


def show(step: str, signature: str, metrics: dict) -> None:
    """One line for the `dvc repro` log: the step's scalar metrics in words (the whole
    report is in reports/<signature>/<step>.json)."""
    shown = [f"{key.replace('_', ' ')} {'-' if value is None else value}"
             for key, value in metrics.items() if not isinstance(value, dict | list)]
    say(f"{step} {signature}: {', '.join(shown)}")


def log_dspy(project, step: str, signature: str):
    """DSPy's log of this step goes to reports/<signature>/<step>.log (tf_cli.lm.log_dspy_to)
    instead of the terminal. Returns a function that prints where, when DSPy wrote any."""
    from tf_cli.layout import log_path
    from tf_cli.lm import log_dspy_to

    path = log_path(project, signature, step)
    log_dspy_to(path)

    def mention() -> None:
        if path.exists() and path.stat().st_size:
            say(f"{step} {signature}: DSPy's log: {project.display(path)}")

    return mention


def fail_if_nothing_accepted(step: str, signature: str, tried: int, accepted: int,
                             what: str, rejects_file: str | None) -> None:
    """An LM step that had work (`tried`) and accepted nothing fails: DVC then records
    nothing, and the next `dvc repro` runs it again. `what` says it in the step's words."""
    from tf_cli.errors import CheckFailed

    if tried and not accepted:
        raise CheckFailed(
            f"{step} {signature}: {what}; each answer and why it was rejected: "
            f"{rejects_file}",
            hint="the stage is not recorded as done, so the next `dvc repro` runs it again; "
                 "see the rejects file, the model, and lm.structured_output")


def run(step: Callable[[list[str]], object]) -> None:
    from tf_cli.errors import TfError

    try:
        step(sys.argv[1:])
    except TfError as exc:
        say(f"error: {exc}", error=True)
        sys.exit(exc.exit_code)
