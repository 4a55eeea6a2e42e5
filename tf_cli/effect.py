"""Which examples help: what the effect stage measured (reports/<sig>/demos.json), and what
the recorded optimization runs chose, read across git history and DVC experiments.

- the latest measurement: each bucket's and each chosen demo's effect on the dev score
  (tf_cli.pipeline.effect), with demos flagged harmful or low-value;
- how often each example was chosen as a demo: one run per distinct version of
  reports/<sig>/optimize.json in the branch's history and in refs/exps;
- how many effect runs in a row (newest first) flagged each demo harmful, which
  `lifecycle.harmful_runs` retires (tf prune).

Read by `tf status`, `tf prune` and `tf report`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import orjson

from tf_cli import git
from tf_cli.layout import REPORTS_DIR, report_path
from tf_cli.project import Project

HARMFUL, LOW_VALUE = "harmful", "low-value"  # the flags the effect stage gives demos
DEMOS_REPORT = "demos"  # reports/<sig>/demos.json, by the effect stage
MAX_RUNS = 100  # versions of a report read from history


@dataclass
class SignatureEffect:
    signature: str
    measured: dict | None  # the working tree's demos.json, or None before the first run
    runs: int = 0  # recorded optimization runs
    chosen: Counter = field(default_factory=Counter)  # id -> runs that chose it as a demo
    harmful_streak: dict[str, int] = field(default_factory=dict)  # id -> runs in a row

    @property
    def evaluated(self) -> bool:
        return bool(self.measured and self.measured.get("evaluated"))

    def buckets(self) -> list[dict]:
        """Measured buckets, most helpful first."""
        rows = [r for r in rows_of(self.measured, "buckets") if r["effect"] is not None]
        return sorted(rows, key=lambda r: (-r["effect"], str(r.get("dimension")),
                                           str(r.get("bucket"))))

    def demos(self) -> list[dict]:
        """Measured demos, most helpful first."""
        rows = [r for r in rows_of(self.measured, "demos") if r["effect"] is not None]
        return sorted(rows, key=lambda r: (-r["effect"], str(r.get("id"))))

    def flagged(self, flag: str) -> list[dict]:
        return [r for r in self.demos() if r.get("flag") == flag]

    def to_json(self) -> dict:
        measured = self.measured or {}
        return {"signature": self.signature, "evaluated": self.evaluated,
                "reason": measured.get("reason"),
                "dev_score_percent": measured.get("dev_score_percent"),
                "buckets": self.buckets(), "demos": self.demos(),
                "harmful": [r["id"] for r in self.flagged(HARMFUL)],
                "low_value": [r["id"] for r in self.flagged(LOW_VALUE)],
                "runs": self.runs, "chosen": dict(self.chosen.most_common()),
                "harmful_streak": self.harmful_streak}


def read(project: Project, signature: str) -> SignatureEffect:
    path = report_path(project, signature, DEMOS_REPORT)
    measured = _load(path.read_bytes()) if path.is_file() else None
    found = SignatureEffect(signature, measured)
    runs = git.file_versions(project.root, f"{REPORTS_DIR}/{signature}/optimize.json",
                             MAX_RUNS, experiments=True)
    optimize_now = report_path(project, signature, "optimize")
    if optimize_now.is_file() and all(content != optimize_now.read_bytes() for _, content in runs):
        runs.insert(0, ("", optimize_now.read_bytes()))  # a run not committed yet
    for _, content in runs:
        report = _load(content)
        if report is None:
            continue
        found.runs += 1
        chosen = report.get("demos_chosen")
        if isinstance(chosen, list):
            found.chosen.update({i for i in chosen if isinstance(i, str)})
    found.harmful_streak = harmful_streaks(project, signature, measured)
    return found


def harmful_streaks(project: Project, signature: str, measured: dict | None) -> dict[str, int]:
    """id -> how many effect runs in a row, newest first, flagged it harmful: the working
    tree's demos.json (when it differs from the last commit's), then its git history."""
    versions = [_load(c) for _, c in git.file_versions(
        project.root, f"{REPORTS_DIR}/{signature}/{DEMOS_REPORT}.json", MAX_RUNS)]
    if measured is not None and (not versions or versions[0] != measured):
        versions.insert(0, measured)
    streak: dict[str, int] = {}
    alive: set[str] | None = None  # flagged in every evaluated run so far, newest first
    for version in versions:
        if not version or not version.get("evaluated"):
            continue  # a run that measured nothing says nothing either way
        harmful = {d["id"] for d in rows_of(version, "demos")
                   if d.get("flag") == HARMFUL and isinstance(d.get("id"), str)}
        alive = harmful if alive is None else alive & harmful
        if not alive:
            break
        for example_id in alive:
            streak[example_id] = streak.get(example_id, 0) + 1
    return streak


def rows_of(report: dict | None, key: str) -> list[dict]:
    """The rows under `key` of a demos.json, as far as they have the shape the effect stage
    writes (the file is in git, so a pull request can put anything there): dicts, with
    `effect` a number or None."""
    rows = (report or {}).get(key)
    if not isinstance(rows, list):
        return []
    out = []
    for row in rows:
        if isinstance(row, dict):
            effect = row.get("effect")
            ok = isinstance(effect, int | float) and not isinstance(effect, bool)
            out.append({**row, "effect": float(effect) if ok else None})
    return out


def _load(content: bytes) -> dict | None:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
