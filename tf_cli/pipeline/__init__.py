"""The DVC pipeline's steps as library functions: stages/*.py only parse and call these.

    datasets/<sig>/*.jsonl --validate--> data/<sig>/pool.jsonl (+ rejects)
        --balance--> data/<sig>/train.jsonl, dev.jsonl --convert--> data/<sig>/dspy.json
        --optimize--> programs/<sig>.json --report--> reports/summary.md
Every step writes reports/<sig>/<step>.json, which DVC tracks as metrics.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from tf_cli.project import Project
from tf_cli.records import atomic_writer

# Files of datasets/<sig>/ that feed the pipeline, human-curated first: when two examples
# are duplicates, the one met first is kept.
SOURCE_FILES = ("examples.jsonl", "captured.jsonl", "bootstrap.jsonl", "synthetic.jsonl")
HUMAN_SOURCES = ("manual", "production", "imported")


def data_dir(project: Project, signature: str) -> Path:
    return project.root / "data" / signature


def report_path(project: Project, signature: str, step: str) -> Path:
    return project.root / "reports" / signature / f"{step}.json"


def program_path(project: Project, signature: str) -> Path:
    return project.root / "programs" / f"{signature}.json"


def write_json(path: Path, data) -> None:
    with atomic_writer(path) as out:
        out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def read_json(path: Path):
    return orjson.loads(path.read_bytes())
