"""`tf sample`: a seeded random sample of examples, for reviewers' spot checks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from tf_cli import duck
from tf_cli.errors import UsageError
from tf_cli.project import Project
from tf_cli.records import read_lines


@dataclass(frozen=True)
class Sampled:
    path: Path
    line: int
    record: dict


def sample(project: Project, signature: str, n: int = 3, where: str | None = None,
           seed: int = 0) -> list[Sampled]:
    """`n` examples chosen with `random.Random(seed)` among those matching `where` (SQL).

    DuckDB evaluates the filter; the examples come back exactly as they are in the files,
    with their location.
    """
    import duckdb

    project.require_signature(signature)
    loader = project.schemas
    files = project.dataset_files(signature)
    types = duck.columns(loader, loader.signature(signature))
    with duck.session(files) as connection:
        try:
            ids = [row[0] for row in connection.execute(
                f"SELECT id FROM {duck.source_sql(files, types)} "
                f"WHERE id IS NOT NULL AND ({where or 'true'}) ORDER BY id").fetchall()]
        except duckdb.Error as exc:
            raise UsageError(f"--where: DuckDB rejects the SQL: {str(exc).splitlines()[0]}",
                             hint="write a SQL condition over inputs.*, outputs.* and "
                                  "metadata.*, e.g. \"metadata.difficulty = 'hard'\"") from None
    chosen = set(random.Random(seed).sample(ids, min(n, len(ids))))
    found = []
    for path in files:
        for line in read_lines(path):
            if line.record is not None and line.record.get("id") in chosen:
                found.append(Sampled(path, line.number, line.record))
                chosen.discard(line.record["id"])
    return found
