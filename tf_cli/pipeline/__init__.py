"""The DVC pipeline's steps as library functions: stages/*.py only parse and call these.

    datasets/<sig>/*.jsonl --validate--> data/<sig>/pool.jsonl (+ rejects)
        --balance--> data/<sig>/train.jsonl, dev.jsonl --convert--> data/<sig>/dspy.json
        --optimize--> programs/<sig>.json --summary--> summary/summary.md
Every step writes reports/<sig>/<step>.json (git, a plain DVC output); optimize also writes
reports/<sig>/scores.json, a few numbers: the DVC metrics file of the signature.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from tf_cli.records import write_json

# Where each step reads and writes: tf_cli.layout. write_json lives in tf_cli.records, so
# core commands that write reports (tf generate) need not import the pipeline.
__all__ = ["read_json", "write_json"]


def read_json(path: Path):
    return orjson.loads(path.read_bytes())
