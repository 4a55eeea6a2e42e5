"""`tf report`: everything a curator looks at, gathered once per signature, for the one-page
HTML report (tf_cli.render.html) that `tf report --html` and the summary stage write.

Per signature: coverage (buckets, every grid's cells, gaps: tf_cli.coverage), the review
queue (pending examples, oldest first), the score and size history (tf_cli.log, from git),
what the effect stage measured and how often runs chose each example (tf_cli.effect),
freshness (age of the counted examples per source), and the lifecycle status: what
`tf prune` would retire and why, and how many are retired (tf_cli.prune).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tf_cli import git
from tf_cli.counting import COUNTED, state
from tf_cli.coverage import SignatureCoverage
from tf_cli.effect import SignatureEffect
from tf_cli.ids import parse_time
from tf_cli.log import LogRow
from tf_cli.project import Project
from tf_cli.prune import Retirement
from tf_cli.records import read_lines

MAX_PENDING_SHOWN = 50
HISTORY_COMMITS = 100


@dataclass
class SignatureReport:
    coverage: SignatureCoverage
    effect: SignatureEffect
    history: list[LogRow]  # oldest first
    pending: list[dict]  # the review queue: id, file, source, created_at; oldest first
    to_retire: list[Retirement]
    retired: int
    age_days: dict[str, dict[str, float]] = field(default_factory=dict)  # source -> stats
    optimized_score: float | None = None  # reports/<sig>/optimize.json in the working tree

    @property
    def name(self) -> str:
        return self.coverage.signature


@dataclass
class Report:
    generated_at: str
    commit: str | None
    signatures: list[SignatureReport]


def build(project: Project, only: list[str] | None = None,
          today: datetime | None = None) -> Report:
    from tf_cli import effect, prune
    from tf_cli.coverage import measure
    from tf_cli.log import history

    today = today or datetime.now(UTC)
    coverages = measure(project, only)
    names = [c.signature for c in coverages]
    in_git = git.try_run(project.root, "rev-parse", "--is-inside-work-tree") is not None
    rows = history(project, None, HISTORY_COMMITS) if in_git else []
    plan, _ = prune.hold_back(project, prune.plan(project, names, today))
    retired = prune.retired(project, names)
    reports = []
    for cov in coverages:
        pending, ages = _queue_and_ages(project, cov.signature, today)
        reports.append(SignatureReport(
            cov, effect.read(project, cov.signature),
            sorted((r for r in rows if r.signature == cov.signature), key=lambda r: r.date),
            pending, [r for r in plan if r.signature == cov.signature],
            sum(1 for r in retired if r["signature"] == cov.signature), ages,
            _optimized_score(project, cov.signature)))
    head = git.try_run(project.root, "rev-parse", "--short", "HEAD")
    return Report(today.strftime("%Y-%m-%d %H:%M UTC"), head.strip() if head else None,
                  reports)


def _queue_and_ages(project: Project, signature: str, today: datetime
                    ) -> tuple[list[dict], dict[str, dict[str, float]]]:
    pending: list[dict] = []
    ages: dict[str, list[float]] = {}
    for path in project.dataset_files(signature):
        for line in read_lines(path):
            record = line.record
            if record is None or not isinstance(record.get("metadata"), dict):
                continue
            metadata = record["metadata"]
            found = state(record)
            created = parse_time(metadata.get("created_at"))
            if found == "pending":
                pending.append({"id": record.get("id"), "file": path.name,
                                "source": metadata.get("source"),
                                "created_at": metadata.get("created_at")})
            elif found == COUNTED and created is not None:
                ages.setdefault(str(metadata.get("source")), []).append(
                    (today - created).total_seconds() / 86400)
    pending.sort(key=lambda p: str(p["created_at"]))
    stats = {source: {"examples": len(days), "median_days": round(statistics.median(days), 1),
                      "oldest_days": round(max(days), 1)}
             for source, days in sorted(ages.items())}
    return pending, stats


def _optimized_score(project: Project, signature: str):
    from tf_cli.effect import report_bytes
    from tf_cli.layout import OPTIMIZE_REPORT, report_path
    from tf_cli.log import scores_in

    return scores_in(report_bytes(project, report_path(project, signature, OPTIMIZE_REPORT)))[0]
