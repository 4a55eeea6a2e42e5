"""The DVC pipeline's steps as library functions: stages/*.py only parse and call these.

    datasets/<sig>/*.jsonl --validate--> data/<sig>/pool.jsonl (+ rejects)
        --balance--> data/<sig>/train.jsonl, dev.jsonl --convert--> data/<sig>/dspy.json
        --optimize--> programs/<sig>.json --summary--> summary/summary.md
Every step writes reports/<sig>/<step>.json, which DVC tracks as metrics.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from tf_cli.records import atomic_writer

# Where each step reads and writes: tf_cli.layout.


def write_json(path: Path, data) -> None:
    with atomic_writer(path) as out:
        out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def read_json(path: Path):
    return orjson.loads(path.read_bytes())
