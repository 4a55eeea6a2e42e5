"""The one error boundary of every stage: a TfError is a message and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable


def run(step: Callable[[list[str]], object]) -> None:
    from tf_cli.errors import TfError

    try:
        step(sys.argv[1:])
    except TfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
