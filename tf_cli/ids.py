"""Example ids and timestamps, assigned once when an example is created."""

from __future__ import annotations

from datetime import UTC, datetime


def new_id() -> str:
    """A ULID: unique, and sorts by creation time, so files read chronologically."""
    from ulid import ULID  # python-ulid costs ~50 ms to import: only writers pay it

    return str(ULID())


def now() -> str:
    """The current time as RFC 3339 in UTC, to the second, e.g. 2026-11-23T19:30:00Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value) -> datetime | None:
    """An RFC 3339 time such as metadata.created_at (naive ones taken as UTC), or None
    for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
