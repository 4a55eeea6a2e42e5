"""The one error boundary of every stage: a TfError is a message and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable


def show(step: str, signature: str, metrics: dict) -> None:
    """One line for the `dvc repro` log: the step's scalar metrics in words (the whole
    report is in reports/<signature>/<step>.json)."""
    shown = [f"{key.replace('_', ' ')} {'-' if value is None else value}"
             for key, value in metrics.items() if not isinstance(value, dict | list)]
    print(f"{step} {signature}: {', '.join(shown)}")


def run(step: Callable[[list[str]], object]) -> None:
    from tf_cli.errors import TfError

    try:
        step(sys.argv[1:])
    except TfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
