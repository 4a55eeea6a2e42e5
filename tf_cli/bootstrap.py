"""`tf bootstrap`: a teacher LM labels input-only prompts (datasets/<sig>/prompts.jsonl).

The teacher is a DSPy program built from the schema-derived signature (`bootstrap.program`
in params: predict or chain_of_thought) run with the configured LM. The prompts are a
candidate source (`_Teacher`) for the proposal loop (tf_cli.proposals), which checks each
labelled example like any new one (schema, rules, quality, exact and near duplicates) and
appends it to bootstrap.jsonl with source: bootstrap, review: pending and the prompt it
came from, as soon as it is accepted; prompts already labelled are skipped, so a re-run
continues where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from tf_cli import dspy_io, lm, proposals
from tf_cli.errors import UsageError
from tf_cli.examples import complete
from tf_cli.file_check import example_problems
from tf_cli.layout import BOOTSTRAP_FILE, BOOTSTRAPPED, PROMPTS_FILE, rejects_path
from tf_cli.project import Project
from tf_cli.proposals import Rejection, Tally
from tf_cli.records import read_lines
from tf_cli.schemas import Signature
from tf_cli.structured import excerpt


@dataclass
class BootstrapSummary(Tally):
    """accepted, rejected and failures: see Tally."""

    prompts: int = 0
    already_labelled: int = 0
    attempted: int = 0  # prompts this run asked the teacher to label
    calls: int = 0
    structured_output: dict = field(default_factory=dict)  # Constraint.describe()
    rejects_file: str | None = None  # every rejection with its evidence


    def to_json(self) -> dict:
        return {"prompts": self.prompts, "already_labelled": self.already_labelled,
                "attempted": self.attempted, "accepted": len(self.accepted),
                "rejected": dict(self.rejected),
                "failures": self.failures, "calls": self.calls,
                "structured_output": self.structured_output, "rejects_file": self.rejects_file}


def bootstrap(project: Project, signature_name: str, limit: int | None = None
              ) -> BootstrapSummary:
    project.require_signature(signature_name)
    prompts_path = project.dataset_dir(signature_name) / PROMPTS_FILE
    if not prompts_path.exists():
        raise UsageError(f"{project.display(prompts_path)} does not exist",
                         hint="add input-only records with `tf import FILE --signature "
                              f"{signature_name} --inputs-only`")
    settings = project.lm
    client = lm.make_lm(settings)
    lm.ensure_reachable(client, settings)
    loader = project.schemas
    signature = project.signature(signature_name)
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
            summary.fail(f"{project.display(prompts_path)}:{line.number}: "
                         f"{problems[0].pointer}: {problems[0].message}",
                         Rejection.INVALID_PROMPT, 1)
        elif f"{PROMPTS_FILE}:{line.record['id']}" in done:
            summary.already_labelled += 1
        else:
            todo.append(line.record)
    todo = todo[:limit] if limit else todo
    summary.attempted = len(todo)
    assigned = _spread_metadata(project, signature_name, todo)
    kind = project.settings.bootstrap.program
    teacher = dspy_io.make_program(dspy_io.dspy_signature(loader, signature), kind)
    adapter = dspy_io.schema_adapter(dspy_io.outputs_schema(loader, signature), signature.name,
                                     client.tf_constraint)
    source = _Teacher(teacher, adapter, kind, signature, settings.model_shown,
                      [_Prompt(p, assigned[p["id"]]) for p in todo])
    try:
        proposals.run(source, project=project, signature=signature, target=out_path,
                      client=client, lm_settings=settings,
                      quality=project.settings.quality,
                      near_duplicate_threshold=project.settings.validate
                      .near_duplicate_threshold,
                      tally=summary)
    finally:  # an interrupted run keeps its evidence too
        path = rejects_path(project, signature_name, "bootstrap")
        summary.rejects_file = project.display(path)
        proposals.write_rejects(path, summary)
    summary.structured_output = client.tf_constraint.describe()
    summary.calls = lm.usage(client)["lm_calls"]
    return summary


@dataclass(frozen=True)
class _Prompt:
    """One prompt to label, with the metadata fields chosen for balance (`given`)."""

    record: dict
    given: dict[str, str]

    @property
    def label(self) -> str:
        return f"prompt {self.record['id']}"

    @property
    def size(self) -> int:
        return 1


class _Teacher:
    """bootstrap's candidate source (tf_cli.proposals.Source): the teacher program labels
    one prompt per LM call."""

    kind = "prompt"

    def __init__(self, teacher, adapter, program: str, signature: Signature,
                 model: str | None, prompts: list[_Prompt]):
        self.teacher, self.adapter, self.program = teacher, adapter, program
        self.signature = signature
        self.model, self.prompts = model, prompts
        self.output_keys = dspy_io.keys(signature, "outputs")

    def units(self) -> list[_Prompt]:
        return self.prompts

    def ask(self, prompt: _Prompt, client):
        return dspy_io.predict(self.teacher, self.adapter, client, **prompt.record["inputs"])

    def evidence(self, prompt: _Prompt, answer=None) -> dict:
        shown: dict = {"unit": prompt.label, "origin": f"{PROMPTS_FILE}:{prompt.record['id']}"}
        if isinstance(answer, str):
            shown["answer"] = excerpt(answer)
        elif answer is not None:  # a prediction: what the teacher's fields said
            shown["answer"] = excerpt(orjson.dumps(
                {k: dspy_io.plain(answer[k]) for k in self.output_keys if k in answer},
                default=str).decode())
        return shown

    def read(self, prompt: _Prompt, prediction) -> list[dict | None]:
        metadata = dict(prompt.record.get("metadata") or {})
        provenance: dict[str, object] = {
            "model": self.model, "strategy": f"teacher_{self.program}",
            "origin": f"{PROMPTS_FILE}:{prompt.record['id']}"}
        if prompt.given:  # the reviewer should know these were chosen for balance, not judged
            provenance["balanced"] = sorted(prompt.given)
        return [complete({"inputs": prompt.record["inputs"],
                          "outputs": {k: dspy_io.plain(prediction[k]) for k in self.output_keys},
                          "metadata": {
                              "difficulty": metadata.get("difficulty", "medium"),
                              "category": metadata.get("category", "production"),
                              **prompt.given,
                              "review": {"status": "pending"},
                              "provenance": provenance}},
                         source=BOOTSTRAPPED)]

    def fits(self, records: list[dict], tally: Tally) -> list[dict]:
        return records  # a label has no target beyond the schema and rules


def _spread_metadata(project: Project, signature: str,
                     prompts: list[dict]) -> dict[str, dict[str, str]]:
    """prompt id -> metadata fields to set: for each dimension an error-level max_share
    caps (e.g. difficulty), prompts that don't say get the least filled bucket, so the
    labelled examples never push a bucket over its share once approved."""
    from tf_cli.coverage import measure
    from tf_cli.coverage.spread import capped_dimensions, metadata_field, spread

    spec = project.signature(signature).coverage
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
