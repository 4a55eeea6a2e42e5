"""`tf_cli.capture`: record an example from a running application.

    from tf_cli import capture
    result = capture("generate_problem", inputs, outputs, quality=0.92)
    if not result.accepted:
        log.info("not captured: %s", result.reason)

It validates the example, drops it when `quality` is below `capture.min_quality` in
params.yaml, and appends it to datasets/<signature>/captured.jsonl with review: pending,
for `tf review` to accept or reject. It never raises into the application for a
rejected example or a broken project: the reason comes back instead. Schemas and params
are read once per process; each call is one validation and one locked append.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tf_cli.errors import TfError
from tf_cli.layout import CAPTURED_FILE, PRODUCTION

_lock = threading.Lock()  # one append at a time per process (the file lock is per process)


@dataclass(frozen=True)
class CaptureResult:
    accepted: bool
    id: str | None = None
    reason: str | None = None


def capture(signature: str, inputs: dict, outputs: dict, *, quality: float | None = None,
            source: str = PRODUCTION, metadata: dict | None = None,
            project: str | os.PathLike | None = None) -> CaptureResult:
    """Validate and append one example; returns whether it was kept, and why not."""
    from tf_cli.examples import complete

    try:
        project_obj, loader, min_quality = _context(str(project) if project else None)
        if quality is not None and min_quality is not None and quality < min_quality:
            return CaptureResult(False, reason=f"quality {quality} is below capture."
                                 f"min_quality {min_quality}")
        compiled = loader.signature(project_obj.require_signature(signature))
        meta = {"difficulty": "medium", "category": "production", **(metadata or {})}
        meta["review"] = {"status": "pending"}
        if quality is not None:
            meta["quality"] = {**meta.get("quality", {}), "score": quality}
        record = complete({"inputs": inputs, "outputs": outputs, "metadata": meta},
                          source=source)
        from tf_cli.file_check import example_problems

        problems = example_problems(compiled, record)
        if problems:
            return CaptureResult(False, reason="; ".join(
                f"{p.pointer}: {p.message}" for p in problems))
        from tf_cli.writer import append_records

        with _lock:
            append_records(project_obj.dataset_dir(signature) / CAPTURED_FILE, [record])
        return CaptureResult(True, id=record["id"])
    except TfError as exc:
        return CaptureResult(False, reason=exc.one_line())
    except OSError as exc:  # e.g. the datasets folder cannot be created
        return CaptureResult(False, reason=f"cannot write the example: {exc}")
    except Exception as exc:  # noqa: BLE001 -- the promise: never raise into the application
        return CaptureResult(False, reason=f"not a JSON example ({type(exc).__name__}: "
                             f"{str(exc)[:200]})")


@cache
def _context(project_dir: str | None):
    """Project, schema loader and min_quality, read once per process and project."""
    from tf_cli.project import find_project

    project = find_project(Path(project_dir) if project_dir else None)
    return project, project.schemas, project.settings.capture.min_quality
