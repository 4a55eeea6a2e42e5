"""balance stage: cap over-represented coverage cells and the synthetic share, then split
train/dev by a hash of the id.

The split depends on the id alone, so adding examples never moves an existing example
between train and dev. Within a capped cell, human-sourced and higher-quality examples
are kept first.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from tf_cli.coverage import measure
from tf_cli.coverage.engine import example_buckets
from tf_cli.layout import (
    DEV_FILE,
    HUMAN_SOURCES,
    POOL_FILE,
    SYNTHETIC,
    TRAIN_FILE,
    data_dir,
    report_path,
)
from tf_cli.pipeline import write_json
from tf_cli.project import Project
from tf_cli.records import read_lines, write_records
from tf_cli.settings import BalanceSettings

SPLIT_BUCKETS = 10_000


def is_dev(example_id: str, dev_fraction: float) -> bool:
    """Stable split: a hash of the id alone decides, whatever else is in the data."""
    digest = hashlib.blake2b(example_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % SPLIT_BUCKETS < dev_fraction * SPLIT_BUCKETS


def _preference(record: dict):
    metadata = record["metadata"]
    return (metadata["source"] not in HUMAN_SOURCES,
            -float(metadata.get("quality", {}).get("score", 1.0)), record["id"])


def balance(project: Project, signature: str, options: BalanceSettings) -> dict:
    folder = data_dir(project, signature)
    # The validate stage wrote pool.jsonl: every line is a record.
    pool = [line.record for line in read_lines(folder / POOL_FILE) if line.record is not None]
    cells = example_buckets(project, signature, list(options.cell_dimensions),
                            [folder / POOL_FILE], ["balance", "cell_dimensions"])
    kept = sorted(pool, key=_preference)
    dropped_cap = 0
    if options.max_per_cell:
        per_cell: dict[tuple, int] = defaultdict(int)
        capped = []
        for record in kept:
            cell = cells.get(record["id"], ())
            if per_cell[cell] < options.max_per_cell:
                per_cell[cell] += 1
                capped.append(record)
        dropped_cap, kept = len(kept) - len(capped), capped
    synthetic = [r for r in kept if r["metadata"]["source"] == SYNTHETIC]
    limit = int(options.max_synthetic_share * (len(kept) - len(synthetic)) /
                max(1e-9, 1 - options.max_synthetic_share)) if options.max_synthetic_share < 1 \
        else len(synthetic)
    excess = {r["id"] for r in synthetic[limit:]}  # lowest preference last
    kept = [r for r in kept if r["id"] not in excess]
    order = {r["id"]: i for i, r in enumerate(pool)}
    kept.sort(key=lambda r: order[r["id"]])  # back to file order
    train = [r for r in kept if not is_dev(r["id"], options.dev_fraction)]
    dev = [r for r in kept if is_dev(r["id"], options.dev_fraction)]
    write_records(folder / TRAIN_FILE, train)
    write_records(folder / DEV_FILE, dev)
    coverage = measure(project, [signature], files={signature: [folder / TRAIN_FILE]})[0]
    metrics: dict[str, object] = {
        "train": len(train), "dev": len(dev), "dropped_over_cell_cap": dropped_cap,
        "dropped_synthetic_share": len(excess), "train_diversity": coverage.diversity}
    write_json(report_path(project, signature, "balance"), metrics)
    # Bucket counts are data for plots, not metrics: as metrics every bucket would be a
    # column of `dvc metrics show`.
    write_json(report_path(project, signature, "train_coverage"), coverage.dimensions)
    return {**metrics, "train_coverage": coverage.dimensions}
