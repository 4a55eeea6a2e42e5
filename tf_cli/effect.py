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
from pathlib import Path

import orjson

from tf_cli import git
from tf_cli.errors import UsageError
from tf_cli.file_safety import irregular
from tf_cli.layout import DEMOS_REPORT, OPTIMIZE_REPORT, report_in_git, report_path
from tf_cli.project import Project
from tf_cli.words import is_number

HARMFUL, LOW_VALUE = "harmful", "low-value"  # the flags the effect stage gives demos
MAX_RUNS = 100  # versions of a report read from history
MAX_REPORT_BYTES = 8 << 20  # a report is a few KB; reports/ is in git, so bound the read


@dataclass
class SignatureEffect:
    signature: str
    measured: dict | None  # the working tree's demos.json, or None before the first run
    runs: int = 0  # recorded optimization runs
    chosen: Counter = field(default_factory=Counter)  # id -> runs that chose it as a demo
    harmful_streak: dict[str, int] = field(default_factory=dict)  # id -> runs in a row

    @property
    def evaluated(self) -> bool:
        return bool(self.measured and self.measured.get("evaluated") is True)

    @property
    def dev_score(self) -> float | None:
        value = (self.measured or {}).get("dev_score_percent")
        return float(value) if is_number(value) else None

    @property
    def reason(self) -> str | None:
        value = (self.measured or {}).get("reason")
        return str(value)[:500] if value is not None else None

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
        return {"signature": self.signature, "evaluated": self.evaluated,
                "reason": self.reason, "dev_score_percent": self.dev_score,
                "buckets": self.buckets(), "demos": self.demos(),
                "harmful": [r["id"] for r in self.flagged(HARMFUL)],
                "low_value": [r["id"] for r in self.flagged(LOW_VALUE)],
                "runs": self.runs, "chosen": dict(self.chosen.most_common()),
                "harmful_streak": self.harmful_streak}


def measured_now(project: Project, signature: str) -> dict | None:
    """The working tree's demos.json, or None before the effect stage first ran."""
    return read_report(project, report_path(project, signature, DEMOS_REPORT))


def read_report(project: Project, path: Path) -> dict | None:
    """A report in the working tree as a JSON object; None when it is absent, not JSON or
    not an object (report_bytes refuses links, FIFOs and huge files)."""
    content = report_bytes(project, path)
    return _load(content) if content is not None else None


def read(project: Project, signature: str) -> SignatureEffect:
    measured = measured_now(project, signature)
    found = SignatureEffect(signature, measured)
    runs = git.file_versions(project.root, report_in_git(signature, OPTIMIZE_REPORT),
                             MAX_RUNS, experiments=True, max_bytes=MAX_REPORT_BYTES)
    optimize_now = report_bytes(project, report_path(project, signature, OPTIMIZE_REPORT))
    if optimize_now is not None and all(content != optimize_now for _, content in runs):
        runs.insert(0, ("", optimize_now))  # a run not committed yet
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
        project.root, report_in_git(signature, DEMOS_REPORT), MAX_RUNS,
        max_bytes=MAX_REPORT_BYTES)]
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


def report_bytes(project: Project, path: Path) -> bytes | None:
    """A report in the working tree, or None when there is none. reports/ is in git: a pull
    request can put a link (to a secret), a FIFO (a read that never ends) or a huge file
    there, and those are refused."""
    kind = irregular(path)
    if kind:
        raise UsageError(f"{project.display(path)}: {kind}; a report must be a regular file "
                         "inside the repository", hint="remove it: `dvc repro` writes it again")
    try:
        with open(path, "rb") as report:
            content = report.read(MAX_REPORT_BYTES + 1)
    except FileNotFoundError:
        return None
    if len(content) > MAX_REPORT_BYTES:
        raise UsageError(f"{project.display(path)}: over {MAX_REPORT_BYTES >> 20} MB, which "
                         "no report of tf's is", hint="remove it: `dvc repro` writes it again")
    return content


MAX_EFFECT = 100.0  # percent points


def rows_of(report: dict | None, key: str) -> list[dict]:
    """The rows under `key` of a demos.json, as far as they have the shape the effect stage
    writes (the file is in git, so a pull request can put anything there): dicts, with
    `effect` a number or None. An effect is a difference of two percentages: one outside
    ±100 (1e308, say) was not written by the stage and would overflow a bar's width."""
    rows = (report or {}).get(key)
    if not isinstance(rows, list):
        return []
    out = []
    for row in rows:
        if isinstance(row, dict):
            effect = row.get("effect")
            value = float(effect) if is_number(effect) else None
            plausible = value is not None and abs(value) <= MAX_EFFECT
            flag = row.get("flag")
            out.append({**row, "effect": value if plausible else None,
                        "flag": flag if isinstance(flag, str) else None})
    return out


def _load(content: bytes) -> dict | None:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
