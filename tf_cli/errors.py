"""One error hierarchy for tf. `main.run` maps these to exit codes in one place.

Messages are written for the person at the terminal: say what is wrong, where, and
what to do about it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class TfError(Exception):
    """Base class: a problem the user can fix. Never shown with a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message

    def one_line(self) -> str:
        """The message and hint on one line, for a log entry (tf_cli.capture's reasons)."""
        text = self.message + (f" (hint: {self.hint})" if self.hint else "")
        return " ".join(text.split())


class UsageError(TfError):
    """A bad flag, argument or path on the command line."""


class ConfigError(TfError):
    """A broken project file: schema, rules, params. Carries every problem found in it."""

    def __init__(self, problems: list):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


class CheckFailed(TfError):
    """A check ran and found problems (already reported); exit 1."""

    exit_code = EXIT_CHECK_FAILED
