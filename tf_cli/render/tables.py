"""Rich tables: `tf status` (readiness and effect per signature) and `tf log` (history per
commit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tf_cli.words import score

if TYPE_CHECKING:
    from rich.table import Table

    from tf_cli.coverage import SignatureCoverage
    from tf_cli.effect import SignatureEffect
    from tf_cli.log import LogRow


def status_table(coverages: list[SignatureCoverage]) -> Table:
    from rich.table import Table

    table = Table(title="tf status", title_justify="left")
    table.add_column("signature", no_wrap=True)
    for column in ("examples", "ready", "sources", "pending", "rejected", "synthetic",
                   "diversity", "failing"):
        table.add_column(column, justify="left" if column == "sources" else "right")
    for cov in coverages:
        table.add_row(
            cov.signature, f"{cov.examples}/{cov.target_examples}",
            "yes" if cov.ready else f"no ({cov.not_ready_because})",
            ", ".join(f"{source} {count}" for source, count in cov.by_source.items()),
            str(cov.pending), str(cov.rejected), f"{cov.synthetic_share:.0%}",
            f"{cov.diversity:.2f}" if cov.diversity is not None else "-",
            f"{len(cov.failed_errors)} (+{len(cov.failed_warnings)} warn)")
    return table


def effect_table(effects: list[SignatureEffect]) -> Table:
    """Which examples help: the effect stage's last measurement per signature (percent
    points of dev score with the bucket or demo, against without), and how often the
    recorded optimization runs chose each example."""
    from rich.table import Table

    from tf_cli.effect import HARMFUL, LOW_VALUE

    table = Table(title="Which examples help (effect on the dev score, percent points)",
                  title_justify="left")
    for column in ("signature", "dev score", "helps most", "helps least", "harmful",
                   "low-value", "most chosen"):
        table.add_column(column, justify="right" if column == "dev score" else "left")
    for found in effects:
        buckets, demos = found.buckets(), found.demos()
        if not found.evaluated:
            measured = [found.reason or "not measured yet (dvc repro)", "", "", ""]
        else:
            # "least" is the other end of each list: with one bucket (or demo) it is "-"
            measured = [_parts(buckets[:1], demos[:1]),
                        _parts(buckets[1:][-1:], demos[1:][-1:]),
                        _ids(found, found.flagged(HARMFUL)),
                        _ids(found, found.flagged(LOW_VALUE))]
        most = ", ".join(f"{i} {n}/{found.runs}" for i, n in found.chosen.most_common(2))
        table.add_row(found.signature, score(found.dev_score), *measured, most or "-")
    return table


def _parts(buckets: list[dict], demos: list[dict]) -> str:
    shown = [f"{b['dimension']}={b['bucket']} {b['effect']:+.1f}" for b in buckets]
    shown += [f"{d.get('id')} {d['effect']:+.1f}" for d in demos]
    return "; ".join(shown) or "-"


def _ids(found: SignatureEffect, rows: list[dict]) -> str:
    shown = []
    for row in rows[:3]:
        streak = found.harmful_streak.get(str(row.get("id")), 0)
        runs = f", {streak} runs in a row" if streak > 1 else ""
        shown.append(f"{row.get('id')} {row['effect']:+.1f}{runs}")
    more = len(rows) - len(shown)
    return "; ".join(shown) + (f" (+{more} more)" if more > 0 else "") if rows else "-"


def log_table(rows: list[LogRow]) -> Table:
    from rich.table import Table

    table = Table(title="tf log", title_justify="left")
    numbers = ("examples", "target", "median age", "quality", "optimized", "baseline")
    for column in ("commit", "date", "signature", *numbers, "optimizer", "subject"):
        table.add_column(column, justify="right" if column in numbers else "left")
    for r in rows:
        table.add_row(r.commit, r.date[:10], r.signature, str(r.examples), str(r.target),
                      score(r.median_age_days),
                      "-" if r.mean_quality is None else f"{r.mean_quality:.2f}",
                      score(r.optimized_score), score(r.baseline_score),
                      r.optimizer or "-", r.subject)
    return table
