"""`tf bootstrap`: a teacher LM labels input-only prompts (datasets/<sig>/prompts.jsonl).

The teacher is a DSPy program built from the schema-derived signature (`bootstrap.program`
in params: predict or chain_of_thought) run with the configured LM. Each labelled example
is checked like any new one (schema, rules, duplicates) and appended to bootstrap.jsonl
with source: bootstrap, review: pending and the prompt it came from, as soon as it is
accepted; prompts already labelled are skipped, so a re-run continues where it stopped.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tf_cli import dspy_io, lm, writer
from tf_cli.errors import UsageError
from tf_cli.examples import Existing, check_new, complete, input_key
from tf_cli.layout import BOOTSTRAP_FILE, BOOTSTRAPPED, PROMPTS_FILE
from tf_cli.params import load_params
from tf_cli.project import Project
from tf_cli.quality import make_judge, score
from tf_cli.records import read_lines
from tf_cli.schemas import SchemaLoader
from tf_cli.settings import BootstrapSettings, QualitySettings, section
from tf_cli.validate import example_problems


@dataclass
class BootstrapSummary:
    prompts: int = 0
    already_labelled: int = 0
    accepted: list[str] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    calls: int = 0

    def to_json(self) -> dict:
        return {"prompts": self.prompts, "already_labelled": self.already_labelled,
                "accepted": len(self.accepted), "rejected": dict(self.rejected),
                "failures": self.failures, "calls": self.calls}


def bootstrap(project: Project, signature_name: str, limit: int | None = None
              ) -> BootstrapSummary:
    import dspy

    project.require_signature(signature_name)
    prompts_path = project.dataset_dir(signature_name) / PROMPTS_FILE
    if not prompts_path.exists():
        raise UsageError(f"{project.display(prompts_path)} does not exist",
                         hint="add input-only records with `tf import FILE --signature "
                              f"{signature_name} --inputs-only`")
    params = load_params(project)
    settings = lm.settings(params)
    client = lm.make_lm(settings)
    lm.ensure_reachable(client, settings)
    loader = SchemaLoader(project)
    signature = loader.signature(signature_name)
    out_path = project.dataset_dir(signature_name) / BOOTSTRAP_FILE
    done = {_origin(line.record) for line in read_lines(out_path)
            if line.record} if out_path.exists() else set()
    summary = BootstrapSummary()
    prompt_signature = loader.prompt_signature(signature_name)
    todo = []
    for line in read_lines(prompts_path):
        if line.record is None:
            continue
        summary.prompts += 1
        problems = example_problems(prompt_signature, line.record)
        if problems:  # tf validate reports it too; labelling it could only fail
            summary.rejected["invalid_prompt"] += 1
            summary.failures.append(f"{project.display(prompts_path)}:{line.number}: "
                                    f"{problems[0].pointer}: {problems[0].message}")
        elif f"{PROMPTS_FILE}:{line.record['id']}" in done:
            summary.already_labelled += 1
        else:
            todo.append(line.record)
    todo = todo[:limit] if limit else todo
    assigned = _spread_metadata(project, params, signature_name, todo)
    kind = section(params, "bootstrap", BootstrapSettings).program
    teacher = dspy_io.make_program(dspy_io.dspy_signature(loader, signature), kind)
    existing = Existing.read(project, signature_name)
    lock = threading.Lock()
    output_keys = dspy_io.keys(signature, "outputs")
    quality = section(params, "quality", QualitySettings)
    judge = make_judge(signature) if quality.judge else None
    reject_below = quality.reject_below

    def label(prompt: dict) -> None:
        try:
            with dspy.context(lm=client):
                prediction = teacher(**prompt["inputs"])
        except Exception as exc:  # after DSPy's retries: report it, go on
            with lock:
                summary.failures.append(
                    f"{prompt['id']}: {lm.redacted(str(exc), settings, 200)}")
                summary.rejected["lm_error"] += 1
            return
        metadata = dict(prompt.get("metadata") or {})
        given = assigned[prompt["id"]]
        provenance: dict[str, object] = {
            "model": settings.model_shown, "strategy": f"teacher_{kind}",
            "origin": f"{PROMPTS_FILE}:{prompt['id']}"}
        if given:  # the reviewer should know these were chosen for balance, not judged
            provenance["balanced"] = sorted(given)
        record = complete({"inputs": prompt["inputs"],
                           "outputs": {k: _plain(prediction[k]) for k in output_keys},
                           "metadata": {
                               "difficulty": metadata.get("difficulty", "medium"),
                               "category": metadata.get("category", "production"),
                               **given,
                               "review": {"status": "pending"},
                               "provenance": provenance}},
                          source=BOOTSTRAPPED)
        problems = check_new(signature, record, existing)
        if not problems:
            try:
                record["metadata"]["quality"] = score(record, signature, judge, client)
            except Exception as exc:  # the judge's call failed after retries
                with lock:
                    summary.failures.append(
                        f"{prompt['id']}: judge: {lm.redacted(str(exc), settings)}")
                    summary.rejected["judge_error"] += 1
                return
        with lock, writer.locked(out_path):
            existing.catch_up(out_path)  # what another run appended meanwhile
            if problems:
                summary.rejected["invalid"] += 1
            elif record["metadata"]["quality"]["score"] < reject_below:
                summary.rejected["quality"] += 1
            elif input_key(record) in existing.inputs:
                summary.rejected["duplicate"] += 1
            else:
                existing.add(record)
                writer.append_records(out_path, [record])
                summary.accepted.append(record["id"])

    with ThreadPoolExecutor(max_workers=settings.num_threads) as pool:
        list(pool.map(label, todo))
    summary.calls = len(client.history)
    return summary


def _spread_metadata(project: Project, params: dict, signature: str,
                     prompts: list[dict]) -> dict[str, dict[str, str]]:
    """prompt id -> metadata fields to set: for each dimension an error-level max_share
    caps (e.g. difficulty), prompts that don't say get the least filled bucket, so the
    labelled examples never push a bucket over its share once approved."""
    from tf_cli.coverage import measure
    from tf_cli.coverage.spec import coverage_spec
    from tf_cli.coverage.spread import capped_dimensions, metadata_field, spread

    spec = coverage_spec(params, project, signature)
    fields = {d: f for d in capped_dimensions(spec) if (f := metadata_field(spec, d))}
    if not fields or not prompts:
        return {p["id"]: {} for p in prompts}
    coverage = measure(project, [signature], diversity=False, with_pending=True)[0]
    cells = []
    for prompt in prompts:
        metadata = prompt.get("metadata") or {}
        cells.append({d: metadata[f] for d, f in fields.items() if f in metadata})
    given = [dict(cell) for cell in cells]
    spread(spec, coverage, cells, list(fields))
    return {p["id"]: {fields[d]: b for d, b in cell.items() if d not in before}
            for p, cell, before in zip(prompts, cells, given, strict=True)}


def _origin(record: dict) -> str | None:
    metadata = record.get("metadata")
    provenance = metadata.get("provenance") if isinstance(metadata, dict) else None
    return provenance.get("origin") if isinstance(provenance, dict) else None


def _plain(value):
    """DSPy returns typed values; pydantic models become dicts for JSON."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
