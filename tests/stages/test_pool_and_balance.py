"""The validate and balance steps through their library API (tf_cli.pipeline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import FIXTURE_PARAMS, REPO
from tf_cli.pipeline.balance import balance, is_dev
from tf_cli.pipeline.validate import PoolOptions, build_pool
from tf_cli.project import Project
from tf_cli.records import read_lines, write_records
from tf_cli.settings import BalanceSettings

SIG = "validate_intent"


def example(i: int, text: str, source: str = "manual", **metadata) -> dict:
    return {"id": f"01JDQ7Z8K3M2N4P5Q6R7S{i:05d}",
            "inputs": {"user_intent": f"Intent {text}", "implementation": f"code for {text}"},
            "outputs": {"intent_matches": True,
                        "explanation": f"The implementation does what was asked: {text}."},
            "metadata": {"source": source, "difficulty": "easy", "category": "api",
                         "created_at": "2026-11-20T10:00:00Z", **metadata}}


def make_project(tmp_path: Path) -> Project:
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    shutil.copy(FIXTURE_PARAMS, tmp_path / "params.yaml")
    return Project(tmp_path)


def test_pool_drops_invalid_rejected_low_quality_and_duplicates(tmp_path: Path):
    project = make_project(tmp_path)
    story = ("users who forget their password receive a reset link by email that expires "
             "after one hour and can be used only once")
    manual = [example(1, story), example(2, "export invoices as a CSV file every night")]
    bad = example(3, "x")
    bad["outputs"]["explanation"] = "short"
    synthetic = [
        example(4, story + " today", "synthetic"),  # one word more: a near duplicate
        example(5, "EXPORT invoices as a CSV file every night", "synthetic"),  # same inputs
        example(6, "a fresh scenario about rate limits", "synthetic",
                quality={"score": 0.2}),
        example(7, "another scenario about retries", "synthetic",
                review={"status": "rejected", "reason": "wrong label"}),
        example(8, "a good synthetic example about pagination", "synthetic"),
        bad,
    ]
    folder = project.dataset_dir(SIG)
    write_records(folder / "synthetic.jsonl", synthetic)  # read after examples.jsonl anyway
    write_records(folder / "examples.jsonl", manual)
    metrics = build_pool(project, SIG, PoolOptions.from_settings(project.settings))
    pool = [line.record["id"] for line in read_lines(tmp_path / "data" / SIG / "pool.jsonl")]
    assert pool == [manual[0]["id"], manual[1]["id"], synthetic[4]["id"]]
    rejects = {r["id"]: r for r in map(json.loads,
                                       (tmp_path / "data" / SIG / "rejects.jsonl").open())}
    assert rejects[synthetic[0]["id"]]["reason"].startswith("near_duplicate")
    assert rejects[synthetic[0]["id"]]["matches"] == manual[0]["id"]
    assert rejects[synthetic[1]["id"]]["matches"] == manual[1]["id"]
    assert rejects[synthetic[2]["id"]]["reason"].startswith("quality: 0.2 is below")
    assert rejects[synthetic[3]["id"]]["reason"] == "review: rejected by a reviewer"
    assert rejects[bad["id"]]["reason"].startswith("rule:explanation_not_a_restatement")
    assert metrics["rejected_by_reason"] == {"duplicate": 1, "near_duplicate": 1, "quality": 1,
                                             "review": 1, "rule": 1}


def test_balance_caps_the_synthetic_share_keeping_human_examples(tmp_path: Path):
    project = make_project(tmp_path)
    records = [example(i, f"human example number {i}") for i in range(6)]
    records += [example(100 + i, f"synthetic example number {i}", "synthetic",
                        quality={"score": 0.5 + i / 100}) for i in range(10)]
    pool = tmp_path / "data" / SIG / "pool.jsonl"
    write_records(pool, records)
    options = BalanceSettings(dev_fraction=0.25, max_synthetic_share=0.5)
    metrics = balance(project, SIG, options)
    kept = [line.record for split in ("train", "dev")
            for line in read_lines(tmp_path / "data" / SIG / f"{split}.jsonl")]
    synthetic = [r for r in kept if r["metadata"]["source"] == "synthetic"]
    assert len(kept) - len(synthetic) == 6 and len(synthetic) == 6
    assert metrics["dropped_synthetic_share"] == 4
    best = sorted(records[6:], key=lambda r: -r["metadata"]["quality"]["score"])[:6]
    assert {r["id"] for r in synthetic} == {r["id"] for r in best}
    dev_ids = {line.record["id"] for line in read_lines(tmp_path / "data" / SIG / "dev.jsonl")}
    assert dev_ids == {r["id"] for r in kept if is_dev(r["id"], 0.25)}


def test_balance_caps_over_represented_cells_keeping_the_best(tmp_path: Path):
    project = make_project(tmp_path)
    easy = [example(i, f"easy example number {i}", "synthetic", quality={"score": i / 10})
            for i in range(1, 6)]
    easy.append(example(9, "an easy example written by hand"))
    hard = [example(20 + i, f"hard example number {i}", difficulty="hard") for i in range(2)]
    write_records(tmp_path / "data" / SIG / "pool.jsonl", easy + hard)
    options = BalanceSettings(dev_fraction=0.0, cell_dimensions=("difficulty",), max_per_cell=3,
                             max_synthetic_share=1.0)
    metrics = balance(project, SIG, options)
    kept = [line.record["id"] for line in read_lines(tmp_path / "data" / SIG / "train.jsonl")]
    # easy: the human example, then the two best synthetic ones; hard: both, under the cap
    assert kept == [easy[3]["id"], easy[4]["id"], easy[5]["id"], hard[0]["id"], hard[1]["id"]]
    assert metrics["dropped_over_cell_cap"] == 3
    assert metrics["train_coverage"]["difficulty"]["easy"] == 3
