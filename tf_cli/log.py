"""`tf log`: the history of the data and its scores, one row per commit that touched them.

Reads every revision straight from Git: counted examples per signature (tf_cli.counting),
the distance to today's target_examples, their freshness (median age at the commit) and
mean quality score, and the optimized and baseline dev scores that
reports/<sig>/optimize.json recorded at that commit.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

import orjson

from tf_cli import git
from tf_cli.counting import COUNTED, state
from tf_cli.ids import parse_time
from tf_cli.layout import (
    DATASET_SUFFIX,
    DATASETS_DIR,
    NOT_EXAMPLE_FILES,
    OPTIMIZE_REPORT,
    REPORTS_DIR,
    report_in_git,
)
from tf_cli.project import Project
from tf_cli.words import is_number


@dataclass(frozen=True)
class LogRow:
    commit: str
    date: str
    subject: str
    signature: str
    examples: int
    target: int
    optimized_score: float | None
    baseline_score: float | None
    optimizer: str | None
    # Freshness and quality of the counted examples at that commit: the median age (days
    # from metadata.created_at to the commit) and the mean metadata.quality.score of those
    # that have one (None when none has).
    median_age_days: float | None = None
    mean_quality: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


def history(project: Project, only: str | None = None, limit: int = 200) -> list[LogRow]:
    """Newest first."""
    root = project.root
    targets = {s.signature: s.target_examples
               for s in project.coverage.values()}
    names = [project.require_signature(only)] if only else project.signatures()
    log = git.run(root, "log", f"-{limit}", "--format=%H%x09%aI%x09%s", "--",
                  DATASETS_DIR, REPORTS_DIR)
    rows = []
    for line in log.splitlines():
        commit, date, subject = line.split("\t", 2)
        data = git.read_tree(root, commit, DATASETS_DIR)
        reports = git.read_tree(root, commit, REPORTS_DIR)
        when = parse_time(date)
        for name in names:
            found = _Counted(when)
            for path, content in data.items():
                if path.startswith(f"{DATASETS_DIR}/{name}/") and path.endswith(DATASET_SUFFIX) \
                        and path.rsplit("/", 1)[-1] not in NOT_EXAMPLE_FILES:
                    found.add(content)
            scores = scores_in(reports.get(report_in_git(name, OPTIMIZE_REPORT)))
            rows.append(LogRow(commit[:10], date, subject, name, found.examples,
                               targets.get(name, 0), *scores, *found.freshness()))
    return rows


class _Counted:
    """The counted examples of one signature's files at one commit (tf_cli.counting): how
    many, their ages at the commit, their quality scores."""

    def __init__(self, at):
        self.at = at
        self.examples = 0
        self.ages: list[float] = []
        self.qualities: list[float] = []

    def add(self, content: bytes) -> None:
        for line in content.splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # not an example: tf validate reports it
            if not isinstance(record, dict) or state(record) != COUNTED:
                continue
            self.examples += 1
            metadata = record.get("metadata")
            if not isinstance(metadata, dict):
                continue
            created = parse_time(metadata.get("created_at"))
            if created is not None and self.at is not None:
                self.ages.append((self.at - created).total_seconds() / 86400)
            quality = metadata.get("quality")
            score = quality.get("score") if isinstance(quality, dict) else None
            if is_number(score):
                self.qualities.append(float(score))

    def freshness(self) -> tuple[float | None, float | None]:
        age = round(statistics.median(self.ages), 1) if self.ages else None
        quality = round(statistics.fmean(self.qualities), 3) if self.qualities else None
        return age, quality


def scores_in(content: bytes | None) -> tuple[float | None, float | None, str | None]:
    """(optimized, baseline, optimizer) that an optimize report records."""
    if not content:
        return None, None, None
    try:
        report = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None, None, None
    if not isinstance(report, dict):
        return None, None, None
    # Reports before the scale was in the name said optimized_score (the same percent).
    optimizer = report.get("optimizer")  # the file is in git: any JSON value can be here
    return (report.get("optimized_score_percent", report.get("optimized_score")),
            report.get("baseline_score_percent", report.get("baseline_score")),
            optimizer if isinstance(optimizer, str) else None)


def plot(rows: list[LogRow], path) -> None:
    """Examples per signature over time, and optimized scores where recorded."""
    from datetime import datetime

    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    figure, (counts, scores) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name in sorted({r.signature for r in rows}):
        mine = sorted((r for r in rows if r.signature == name), key=lambda r: r.date)
        when = [datetime.fromisoformat(r.date) for r in mine]
        counts.plot(when, [r.examples for r in mine], marker="o", label=name)
        scored = [(w, r.optimized_score) for w, r in zip(when, mine, strict=True)
                  if r.optimized_score is not None]
        if scored:
            scores.plot(*zip(*scored, strict=True), marker="o", label=name)
    if not any(r.optimized_score is not None for r in rows):
        scores.text(0.5, 0.5, "no optimized scores recorded yet (an LM is needed)",
                    ha="center", va="center", transform=scores.transAxes)
    counts.set_ylabel("examples")
    counts.set_title("Training data and scores over time (tf log)")
    counts.legend(fontsize="small", loc="upper left")
    scores.set_ylabel("optimized dev score (%)")
    scores.set_xlabel("commit date")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
