"""`tf generate` and the synthesize stage: synthetic examples where coverage is missing.

1. Plan target cells (dimension -> bucket) from the coverage gaps, most needed first
   (`fill_gaps`), or spread over the grid of declared buckets.
2. Ask the LM for `batch_size` examples per call, one target cell each, under one set of
   instructions, with curated demos from neighbouring cells and a rotating strategy
   (`_Prompts`).
3. Hand the batches to the proposal loop (tf_cli.proposals) as a candidate source
   (`_Generated`): it checks every example (schema, rules, and here its target cell),
   scores it, refuses exact and near duplicates of the corpus and of each other, keeps the
   valid ones of a batch when others fail, and appends them to
   datasets/<sig>/synthetic.jsonl as they are accepted, with provenance and review:
   pending, so an interrupted run keeps its work; a re-run plans from the coverage that
   now exists.
LM faults are not fatal: 429 (honouring Retry-After), 5xx and timeouts are retried with
bounded exponential backoff (lm.retrying), and every failed attempt is reported; a batch
that still fails, or whose answer is not the JSON asked for, is counted and the run goes
on.
"""

from __future__ import annotations

import hashlib
import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tf_cli import duck, lm, proposals
from tf_cli.coverage import measure
from tf_cli.coverage.gaps import CellGap, NewBucketGap
from tf_cli.coverage.requirements import SyntheticMaxShare
from tf_cli.coverage.spec import CoverageSpec, params_problem
from tf_cli.coverage.spread import spread
from tf_cli.errors import ConfigError
from tf_cli.examples import complete
from tf_cli.file_check import example_problems
from tf_cli.layout import (
    EXAMPLES_FILE,
    HUMAN_SOURCES,
    SYNTHETIC,
    SYNTHETIC_FILE,
    rejects_path,
)
from tf_cli.project import Project
from tf_cli.proposals import NotAsked, Rejection, Tally, candidate_evidence
from tf_cli.records import read_lines, write_records
from tf_cli.schemas import SchemaLoader, Signature
from tf_cli.structured import excerpt, find_json, response_format

STRATEGIES = ("fresh_scenario", "variation", "edge_case", "adversarial")
_STRATEGY_TEXT = {
    "fresh_scenario": "a fresh, realistic scenario unlike the demos",
    "variation": "a variation of one demo with a different domain and different details",
    "edge_case": "an edge case: boundary values, empty or unusual inputs",
    "adversarial": "an ambiguous or adversarial case that is easy to label wrongly",
}


@dataclass(frozen=True)
class GenerateOptions:
    """What one run asks for: `tf generate`'s flags, or params.yaml's synthesize section
    (whose batch_size is also the flag's default). `step` names the run's report and
    rejects file: "generate" for the command, "synthesize" for the stage."""

    count: int
    batch_size: int
    fill_gaps: bool
    step: str = "generate"


@dataclass
class GenerateSummary(Tally):
    """accepted, rejected and failures: see Tally."""

    planned: int = 0
    requested: int = 0  # --count: planned is smaller when `limits` say why
    limits: list[str] = field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    synthetic_share: float = 0.0
    diversity_before: float | None = None
    diversity_after: float | None = None
    gaps_before: int = 0
    gaps_after: int = 0
    structured_output: dict = field(default_factory=dict)  # Constraint.describe()
    rejects_file: str | None = None  # every rejection with its evidence

    def to_json(self) -> dict:
        accepted = len(self.accepted)
        return {"planned": self.planned, "requested": self.requested, "limits": self.limits,
                "calls": self.calls, "accepted": accepted,
                "structured_output": self.structured_output, "rejects_file": self.rejects_file,
                "rejected": dict(self.rejected), "failures": self.failures,
                "calls_per_accepted": round(self.calls / accepted, 3) if accepted else None,
                "acceptance_rate": round(accepted / self.planned, 3) if self.planned else None,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost": round(self.cost, 6), "synthetic_share": round(self.synthetic_share, 3),
                "diversity_before": self.diversity_before,
                "diversity_after": self.diversity_after,
                "gap_examples_needed_before": self.gaps_before,
                "gap_examples_needed_after": self.gaps_after}


def plan_cells(spec: CoverageSpec, gaps, count: int, fill_gaps: bool) -> list[dict[str, str]]:
    """Target cells for up to `count` examples: with `fill_gaps`, the gaps' cells, most
    needed first, each as often as it needs (and no more than the gaps need); otherwise
    round-robin over the grid of every declared bucket."""
    cells: list[dict[str, str]] = []
    if fill_gaps:
        for gap in gaps:
            if isinstance(gap, CellGap):  # a known cell; not a bucket still to be named
                cells += [dict(gap.cell)] * gap.need
        return cells[:count]
    axes = {name: d.buckets for name, d in spec.dimensions.items() if d.buckets}
    grid = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    spread = itertools.cycle(grid or [{}])
    while len(cells) < count:
        cells.append(next(spread))
    return cells[:count]


@dataclass(frozen=True)
class Plan:
    """The target cells of a run and, when they are fewer than `requested`, each reason."""

    cells: list[dict[str, str]]
    requested: int
    limits: list[str]


def plan(project: Project, spec: CoverageSpec, coverage, count: int, fill_gaps: bool) -> Plan:
    """Up to `count` target cells, within an error-level synthetic_max_share, and the reasons
    the plan is smaller than asked (`coverage` counts the examples waiting for review)."""
    allowed, cap = _within_synthetic_share(project, spec, coverage, count)
    cells = plan_cells(spec, coverage.gaps, allowed, fill_gaps)
    limits = []
    need = sum(g.need for g in coverage.gaps if isinstance(g, CellGap))
    if fill_gaps and need < count:
        waiting = (f" (counting the {coverage.pending} examples waiting for review: "
                   f"tf review --signature {spec.signature})" if coverage.pending else "")
        limits.append((f"the gaps need {need} examples" if need else
                       f"{spec.signature} has no gaps in a cell to fill") + waiting
                      + "; --fill-gaps plans only for gaps")
        untargeted = [f"{g.requirement}: {g.need}" for g in coverage.gaps
                      if not isinstance(g, CellGap)]
        if untargeted:
            limits.append("gaps with no cell to target are not planned ("
                          + "; ".join(untargeted) + "): without --fill-gaps, --count "
                          "examples are spread over the buckets")
    if cap is not None and allowed < count and allowed < len(plan_cells(spec, coverage.gaps,
                                                                        count, fill_gaps)):
        limits.append(cap)
    return Plan(cells, count, limits)


def generate(project: Project, signature_name: str, options: GenerateOptions,
             progress=None) -> GenerateSummary:
    """Plan, then generate. When nothing can be planned (no gaps with `fill_gaps`, or the
    synthetic share is at its cap) the LM is not called and the summary says why
    (`planned` 0, `limits`). A run that called the LM leaves its rejects file
    (layout.rejects_path); its report (reports/<sig>/<step>.json) is the caller's to write."""
    project.require_signature(signature_name)
    loader = project.schemas
    signature = project.signature(signature_name)
    spec = signature.coverage
    # Planned from counted examples plus those already waiting for review (not planned
    # twice); rejected ones count nowhere, so their cells are planned again.
    before = measure(project, [signature_name], with_pending=True)[0]
    summary = GenerateSummary(diversity_before=before.diversity,
                              gaps_before=_gap_need(before), requested=options.count,
                              synthetic_share=before.synthetic_share)
    planned = plan(project, spec, before, options.count, options.fill_gaps)
    cells, summary.limits = planned.cells, planned.limits
    if not cells:
        summary.diversity_after, summary.gaps_after = before.diversity, summary.gaps_before
        return summary
    settings = project.lm
    client = lm.make_lm(settings)
    lm.ensure_reachable(client, settings)
    spread(spec, before, cells)
    summary.planned = len(cells)
    prompts = _Prompts(loader, signature, spec, _curated(project, loader, signature, spec))
    batches = []
    for number, first in enumerate(range(0, len(cells), options.batch_size)):
        batch = cells[first:first + options.batch_size]
        strategies = [STRATEGIES[(number + i) % len(STRATEGIES)] for i in range(len(batch))]
        batches.append(_Batch(number, batch, strategies, prompts.prompt(batch, strategies)))
    constraint = client.tf_constraint
    source = _Generated(loader, signature, spec, settings.model_shown, batches,
                        constrained=constraint.active)
    try:
        proposals.run(source, project=project, signature=signature,
                      target=project.dataset_dir(signature_name) / SYNTHETIC_FILE,
                      client=client, lm_settings=settings,
                      quality=project.settings.quality,
                      near_duplicate_threshold=project.settings.validate
                      .near_duplicate_threshold,
                      tally=summary, progress=progress)
    finally:  # an interrupted run keeps its evidence too
        rejects = rejects_path(project, signature_name, options.step)
        summary.rejects_file = project.display(rejects)
        proposals.write_rejects(rejects, summary)
    summary.structured_output = constraint.describe()
    used = lm.usage(client)
    summary.calls, summary.cost = used["lm_calls"], used["cost"]
    summary.prompt_tokens, summary.completion_tokens = (used["prompt_tokens"],
                                                        used["completion_tokens"])
    after = measure(project, [signature_name], with_pending=True)[0]
    summary.diversity_after, summary.gaps_after = after.diversity, _gap_need(after)
    summary.synthetic_share = after.synthetic_share
    return summary


def _within_synthetic_share(project: Project, spec: CoverageSpec, coverage,
                            count: int) -> tuple[int, str | None]:
    """How many of `count` examples an error-level synthetic_max_share still allows, and,
    when that is fewer, why (the share, its line, what fills it, how to raise it)."""
    caps = [r for r in spec.requirements
            if isinstance(r, SyntheticMaxShare) and r.level == "error" and r.max_share < 1]
    if not caps:
        return count, None
    cap = min(caps, key=lambda r: r.max_share)
    share = cap.max_share
    synthetic = coverage.by_source.get(SYNTHETIC, 0)
    allowed = max(0, int(share * (coverage.examples - synthetic) / (1 - share)) - synthetic)
    if allowed >= count:
        return count, None
    place = params_problem(project, [*cap.origin, "synthetic_max_share"] if cap.origin else [],
                           "")
    where = f"{place.path}:{place.line}" if place.line else place.path
    return allowed, (f"synthetic_max_share {share} ({where}) allows {allowed} more synthetic "
                     f"examples: {synthetic} of {coverage.examples} examples are synthetic, "
                     "those waiting for review included (add or approve non-synthetic "
                     "examples, reject pending synthetic ones in tf review, or raise "
                     "synthetic_max_share)")


def _gap_need(coverage) -> int:
    return sum(g.need for g in coverage.gaps if isinstance(g, CellGap | NewBucketGap))


@dataclass(frozen=True)
class _Batch:
    """One LM call: `cells[i]` is the target of the i-th example, written with
    `strategies[i]`."""

    number: int
    cells: list[dict[str, str]]
    strategies: list[str]
    prompt: str

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(self.prompt.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"batch {self.number + 1}"

    @property
    def size(self) -> int:
        return len(self.cells)


class _Prompts:
    """Builds the prompt for a batch: instructions from the schema, rules and dimensions,
    the targets, and curated demos from neighbouring cells. No LM, no files."""

    def __init__(self, loader: SchemaLoader, signature: Signature, spec: CoverageSpec,
                 demos: list[tuple[dict, dict[str, str]]]):
        self.loader, self.signature, self.spec, self.demos = loader, signature, spec, demos

    def prompt(self, cells: list[dict[str, str]], strategies: list[str]) -> str:
        schema = {part: self.loader.inline(self.signature.schema["properties"][part],
                                           self.signature) for part in ("inputs", "outputs")}
        dims = "\n".join(f"- {name}: {d.description} defined as SQL: {' '.join(d.sql.split())}"
                         for name, d in self.spec.dimensions.items())
        rules = "\n".join(f"- {rule.name}: {rule.description}" for rule in self.signature.rules)
        targets = "\n".join(
            f"Example {i + 1}: {_STRATEGY_TEXT[s]}; it must fall in: "
            + (", ".join(f"{d} = {b}" for d, b in cell.items()) or "any bucket")
            for i, (cell, s) in enumerate(zip(cells, strategies, strict=True)))
        demos = _neighbours(self.demos, cells[:2])
        # tests/lm_server.py recognises generate's requests by this prompt's first words.
        return (
            "You write training examples for the DSPy signature "
            f"{self.signature.name}: {self.signature.instructions}\n\n"
            f"Each example has inputs and outputs matching these JSON Schemas:\n"
            f"{orjson.dumps(schema).decode()}\n\nRules every example must satisfy:\n{rules}\n\n"
            f"Coverage dimensions (metadata.difficulty is easy|medium|hard; metadata.category "
            f"is a snake_case subject area):\n{dims}\n\nWrite {len(cells)} examples, in this "
            f"order:\n{targets}\n\nDemos of good examples:\n"
            f"{orjson.dumps(demos).decode()}\n\n"
            'Answer with one JSON object only: {"examples": [{"inputs": {...}, "outputs": '
            '{...}, "difficulty": "...", "category": "..."}, ...]}')


class _Generated:
    """generate's candidate source (tf_cli.proposals.Source): a batch's prompt goes to the
    LM, its answer becomes one record per target cell, and a record is kept only if it
    lands in its cell."""

    kind = "batch"

    def __init__(self, loader: SchemaLoader, signature: Signature, spec: CoverageSpec,
                 model: str | None, batches: list[_Batch], constrained: bool):
        self.loader, self.signature, self.spec = loader, signature, spec
        self.model, self.batches = model, batches
        # batch size -> the response format asking for exactly that many examples
        self.formats = {size: response_format(f"{signature.name}_examples",
                                              _batch_schema(loader, signature, size))
                        for size in {b.size for b in batches}} if constrained else {}

    def units(self) -> list[_Batch]:
        return self.batches

    def ask(self, batch: _Batch, client) -> str:
        # The batch's shape as the response format (tf_cli.structured): the client sends
        # it in the spelling the server takes, or not at all.
        kwargs = {"response_format": self.formats[batch.size]} if self.formats else {}
        answer = client(batch.prompt, **kwargs)[0]
        # DSPy gives a dict when the server adds reasoning or tool calls to the text.
        return str(answer.get("text") or "") if isinstance(answer, dict) else str(answer)

    def read(self, batch: _Batch, text: str) -> list[dict | None]:
        try:
            found = find_json(text)
        except ValueError:
            raise NotAsked("the answer holds no JSON object or list (see the rejects "
                           "file for the answer)") from None
        if isinstance(found, dict) and isinstance(found.get("examples"), list):
            items = found["examples"]
        elif isinstance(found, list):
            items = found
        elif isinstance(found, dict) and "inputs" in found:  # one example, not a batch
            items = [found]
        else:
            raise NotAsked('the answer\'s JSON is not {"examples": [...]} nor a list of '
                           "examples (see the rejects file for the answer)")
        return [self._record(items[i] if i < len(items) else None, cell,
                             batch.strategies[i], batch.prompt_hash)
                for i, cell in enumerate(batch.cells)]

    def evidence(self, batch: _Batch, answer=None) -> dict:
        shown = {"unit": batch.label, "prompt_hash": batch.prompt_hash,
                 "target_cells": batch.cells}
        if answer is not None:
            shown["answer"] = excerpt(str(answer))
        return shown

    def _record(self, item, cell: dict[str, str], strategy: str,
                prompt_hash: str) -> dict | None:
        if not isinstance(item, dict):
            return None
        metadata = {"difficulty": item.get("difficulty") or cell.get("difficulty", "medium"),
                    "category": item.get("category") or cell.get("category", "general"),
                    "review": {"status": "pending"},
                    "provenance": {"model": self.model, "strategy": strategy,
                                   "target_cell": dict(cell), "prompt_hash": prompt_hash}}
        return complete({"inputs": item.get("inputs"), "outputs": item.get("outputs"),
                         "metadata": metadata}, source=SYNTHETIC)

    def fits(self, records: list[dict], tally: Tally) -> list[dict]:
        """The records that land in their target cell, which DuckDB computes for the whole
        batch in one query."""
        def target(record: dict) -> dict[str, str]:
            return record["metadata"]["provenance"]["target_cell"]

        names = sorted({d for record in records for d in target(record)})
        if not names:
            return records
        types = duck.columns(self.loader, self.signature)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "batch.jsonl"
            write_records(path, records)
            try:
                rows = duck.buckets([path], types, {d: self.spec.dimensions[d].sql
                                                    for d in names}, self.signature.name)
            except ConfigError as exc:  # the SQL fails on a value the LM wrote
                tally.fail(f"target cells of a batch: {exc}", Rejection.WRONG_CELL,
                           len(records))
                return []
        landed = {i: dict(zip(names, cells, strict=True)) for i, cells in rows.items()}
        kept = []
        for record in records:
            actual = landed.get(record["id"], {})
            if all(actual.get(d) == b for d, b in target(record).items()):
                kept.append(record)
            else:
                tally.reject(Rejection.WRONG_CELL, evidence={
                    **candidate_evidence(record), "landed_in": actual,
                    "detail": "the example falls in " + (", ".join(
                        f"{d} = {b}" for d, b in actual.items()) or "no bucket")
                    + ", not in its target cell"})
        return kept


def _batch_schema(loader: SchemaLoader, signature: Signature, size: int) -> dict:
    """The JSON Schema of an answer with `size` examples: the signature's own inputs and
    outputs schemas (references followed), and the two metadata fields asked for."""
    example = {"type": "object",
               "properties": {
                   **{part: loader.inline(signature.schema["properties"][part], signature)
                      for part in ("inputs", "outputs")},
                   "difficulty": {"type": "string", "enum": ["easy", "medium", "hard"]},
                   "category": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}},
               "required": ["inputs", "outputs", "difficulty", "category"]}
    return {"type": "object",
            "properties": {"examples": {"type": "array", "items": example,
                                        "minItems": size, "maxItems": size}},
            "required": ["examples"]}


def _curated(project: Project, loader: SchemaLoader, signature: Signature,
             spec: CoverageSpec) -> list[tuple[dict, dict[str, str]]]:
    """Hand-written examples with their cells (every dimension's bucket), for demos."""
    path = project.dataset_dir(signature.name) / EXAMPLES_FILE
    if not path.exists() or not spec.dimensions:
        return []
    types = duck.columns(loader, signature)
    names = list(spec.dimensions)
    cells = {i: dict(zip(names, found, strict=True)) for i, found in duck.buckets(
        [path], types, {n: spec.dimensions[n].sql for n in names}, signature.name,
        lambda d, message: params_problem(project, spec.dimensions[d].origin, message)).items()}
    # Only examples that pass the schema and rules are shown to the LM as good ones.
    return [({"inputs": line.record["inputs"], "outputs": line.record["outputs"]},
             cells.get(line.record["id"], {}))
            for line in read_lines(path) if line.record is not None
            and not example_problems(signature, line.record)
            and line.record["metadata"]["source"] in HUMAN_SOURCES]


def _neighbours(curated: list[tuple[dict, dict]], cells: list[dict[str, str]]) -> list[dict]:
    """For each target cell, the curated example sharing the most of its buckets (a
    different one for each cell)."""
    chosen: list[dict] = []
    for cell in cells:
        ranked = sorted(curated, key=lambda item: -sum(item[1].get(d) == b
                                                       for d, b in cell.items()))
        pick = next((demo for demo, _ in ranked if demo not in chosen), None)
        if pick is not None:
            chosen.append(pick)
    return chosen
