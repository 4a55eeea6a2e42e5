"""validate stage: merge a signature's sources into one pool of valid, distinct examples.

Drops what fails the schema or rules, what a reviewer rejected, what awaits review (unless
validate.train_pending; see tf_cli.counting), what scores below
quality.reject_below, exact duplicates (same inputs, case and spacing ignored) and near
duplicates (MinHash of word 3-grams over the text fields, rensa LSH, Jaccard threshold
from params), keeping the human-sourced copy. Every drop is written with its reason and,
for duplicates, the id of the example it matched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tf_cli.counting import PENDING, REJECTED, state
from tf_cli.examples import input_key
from tf_cli.file_check import example_problems
from tf_cli.layout import (
    HUMAN_SOURCES,
    PIPELINE_SOURCE_FILES,
    POOL_FILE,
    REJECTS_FILE,
    data_dir,
    report_path,
)
from tf_cli.near_duplicates import NearDuplicates
from tf_cli.pipeline import write_json
from tf_cli.project import Project
from tf_cli.records import read_lines, write_records
from tf_cli.schemas import Signature
from tf_cli.settings import Settings


@dataclass(frozen=True)
class PoolOptions:
    near_duplicate_threshold: float
    reject_below: float
    train_pending: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolOptions:
        return cls(settings.validate.near_duplicate_threshold, settings.quality.reject_below,
                   settings.validate.train_pending)


def build_pool(project: Project, signature_name: str, options: PoolOptions) -> dict:
    loader = project.schemas
    signature = loader.signature(signature_name)
    records = []
    # Every example file counts (tf_cli.counting), the usual ones first in SOURCE_FILES order.
    order = {name: i for i, name in enumerate(PIPELINE_SOURCE_FILES)}
    for path in sorted(project.dataset_files(signature_name),
                       key=lambda p: (order.get(p.name, len(order)), p.name)):
        records += [(path.name, line) for line in read_lines(path)]
    # Human-sourced first, so a machine-made duplicate is the one dropped.
    records.sort(key=lambda item: item[1].record is None or
                 item[1].record.get("metadata", {}).get("source") not in HUMAN_SOURCES)
    accepted: list[dict] = []
    rejects: list[dict] = []
    seen_ids: dict[str, bool] = {}
    seen_inputs: dict[bytes, str] = {}
    index = NearDuplicates(options.near_duplicate_threshold)
    for file_name, line in records:
        record = line.record
        reason, match = _reason(signature, record, line.problem, options, seen_ids, seen_inputs,
                                index)
        if reason or record is None:
            rejects.append({"file": file_name, "line": line.number, "reason": reason,
                            **({"matches": match} if match else {}),
                            **({"id": record.get("id")} if record else {})})
            continue
        seen_ids[record["id"]] = True
        seen_inputs[input_key(record)] = record["id"]
        index.add(record)
        accepted.append(record)
    out = data_dir(project, signature_name)
    write_records(out / POOL_FILE, accepted)
    write_records(out / REJECTS_FILE, rejects)
    by_reason = Counter(str(r["reason"]).split(":")[0] for r in rejects)
    metrics = {"accepted": len(accepted), "rejected": len(rejects),
               "rejected_by_reason": dict(sorted(by_reason.items())),
               "by_source": dict(Counter(r["metadata"]["source"] for r in accepted))}
    write_json(report_path(project, signature_name, "validate"), metrics)
    return metrics


def _reason(signature: Signature, record, problem, options: PoolOptions, seen_ids,
            seen_inputs, index: NearDuplicates) -> tuple[str | None, str | None]:
    if record is None:
        return f"unreadable: {problem}", None
    problems = example_problems(signature, record)
    if problems:
        first = problems[0]
        kind = f"rule:{first.rule}" if first.rule else "schema"
        return f"{kind}: {first.pointer}: {first.message}", None
    metadata = record["metadata"]
    found = state(record)
    if found == REJECTED:
        return "review: rejected by a reviewer", None
    if found == PENDING and not options.train_pending:
        return "review: pending (not reviewed yet; validate.train_pending is false)", None
    score = metadata.get("quality", {}).get("score")
    if score is not None and score < options.reject_below:
        return f"quality: {score} is below quality.reject_below {options.reject_below}", None
    if record["id"] in seen_ids:
        return "duplicate_id", record["id"]
    key = input_key(record)
    if key in seen_inputs:
        return "duplicate: the same inputs", seen_inputs[key]
    match = index.match(record)
    if match:
        return "near_duplicate: Jaccard similarity over the threshold", match
    return None, None
