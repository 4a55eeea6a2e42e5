"""What counts: the one definition every command that counts or trains uses.

- counted: written or approved by a person: no review status (manual, imported, added in
  a pull request) or `review.status: approved`. These count in coverage, `tf check`,
  `tf status`, the synthetic share, and they train.
- pending: `review.status: pending` (generated, bootstrapped or captured, not reviewed
  yet). Shown in their own column; never counted; they train only when params.yaml sets
  `validate.train_pending: true`.
- rejected: `review.status: rejected`. Never counted, never trained; `tf generate` plans
  examples to replace them.
"""

from __future__ import annotations

COUNTED, PENDING, REJECTED = "counted", "pending", "rejected"
# A pending copy of a counted example: what a crash between an approval's two writes
# leaves (tf_cli.writer.move). It counts nowhere, not even as pending.
STALE = "stale"

# The same rule for DuckDB, over a relation with the schema's metadata struct.
STATE_SQL = ("CASE coalesce(metadata.review.status, 'approved') "
             f"WHEN 'pending' THEN '{PENDING}' WHEN 'rejected' THEN '{REJECTED}' "
             f"ELSE '{COUNTED}' END")


def review_status(record: dict) -> str | None:
    """metadata.review.status, or None (also for a record too malformed to have one)."""
    metadata = record.get("metadata")
    review = metadata.get("review") if isinstance(metadata, dict) else None
    return review.get("status") if isinstance(review, dict) else None


def state(record: dict) -> str:
    status = review_status(record)
    if status == "pending":
        return PENDING
    if status == "rejected":
        return REJECTED
    return COUNTED
