"""`tf status`: readiness of every signature and what to add next."""

from __future__ import annotations

from collections.abc import Sequence

from tf_cli.coverage import Gap, SignatureCoverage
from tf_cli.coverage.gaps import ShareGap, TotalGap, WhereGap
from tf_cli.effect import HARMFUL, SignatureEffect
from tf_cli.words import plural


def recommendation(cov: SignatureCoverage, gap: Gap) -> str:
    """One concrete next step, e.g. "add 4 more examples with completion = full to X"."""
    examples = plural(gap.need, "more example")
    if isinstance(gap, TotalGap):
        return f"add {examples} to {cov.signature} ({gap.requirement})"
    if isinstance(gap, ShareGap):
        return f"add {examples} {gap.place} to {cov.signature} ({gap.requirement})"
    if isinstance(gap, WhereGap):
        return f"add {examples} matching {gap.where} to {cov.signature}"
    return f"add {examples} with {gap.place} to {cov.signature}"


def recommendations(coverages: list[SignatureCoverage], per_signature: int = 3) -> list[str]:
    """The most needed gaps of each signature, error-level first.

    The distance to the target is in the status table already, so it is recommended only
    when it is all that is left (or when min_examples is not reached: an error gap).
    """
    out = []
    for cov in coverages:
        specific = [g for g in cov.gaps if not isinstance(g, TotalGap) or g.level == "error"]
        out += [recommendation(cov, gap) for gap in (specific or cov.gaps)[:per_signature]]
    return out


def next_steps(coverages: list[SignatureCoverage],
               effects: Sequence[SignatureEffect] = ()) -> list[str]:
    """What `tf status` ends with: the recommendations, then the review queues to empty,
    then the harmful demos to look at (or retire: tf prune, lifecycle.harmful_runs)."""
    steps = recommendations(coverages)
    steps += [f"review {plural(cov.pending, 'pending example')} of "
              f"{cov.signature}: tf review --signature {cov.signature}"
              for cov in coverages if cov.pending]
    for found in effects:
        harmful = found.flagged(HARMFUL)
        if harmful:
            steps.append(f"look at {plural(len(harmful), 'harmful demo')} of {found.signature} "
                         f"({', '.join(str(r.get('id')) for r in harmful[:3])}): the dev score "
                         "rose without them; tf prune retires them once lifecycle.harmful_runs "
                         "runs in a row agree")
    return steps
