"""`tf generate` and the synthesize stage: synthetic examples where coverage is missing.

1. Plan target cells (dimension -> bucket) from the coverage gaps, most needed first
   (`fill_gaps`), or spread over the grid of declared buckets.
2. Ask the LM for `batch_size` examples per call, one target cell each, under one set of
   instructions, with curated demos from neighbouring cells and a rotating strategy.
3. Check every example (schema, rules, its target cell, exact and near duplicates of the
   corpus and of each other); keep the valid ones of a batch when others fail.
4. Append accepted examples to datasets/<sig>/synthetic.jsonl as they are accepted, with
   provenance and review: pending, so an interrupted run keeps its work; a re-run plans
   from the coverage that now exists.
LM faults are handled here, not fatal: 429 (honouring Retry-After), 5xx and timeouts are
retried with bounded exponential backoff, and every failed attempt is reported; a batch
that still fails, or whose answer is not the JSON asked for, is counted and the run goes
on.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tf_cli import duck, lm, writer
from tf_cli.coverage import measure
from tf_cli.coverage.spec import CoverageSpec, coverage_spec
from tf_cli.coverage.spread import spread
from tf_cli.errors import ConfigError
from tf_cli.examples import Existing, check_new, complete, input_key
from tf_cli.layout import EXAMPLES_FILE, HUMAN_SOURCES, SYNTHETIC, SYNTHETIC_FILE, report_path
from tf_cli.near_duplicates import NearDuplicates
from tf_cli.params import load_params
from tf_cli.pipeline import write_json
from tf_cli.project import Project
from tf_cli.quality import make_judge, score
from tf_cli.records import read_lines, write_records
from tf_cli.schemas import SchemaLoader, Signature
from tf_cli.settings import QualitySettings, ValidateSettings, section
from tf_cli.validate import example_problems

STRATEGIES = ("fresh_scenario", "variation", "edge_case", "adversarial")
_STRATEGY_TEXT = {
    "fresh_scenario": "a fresh, realistic scenario unlike the demos",
    "variation": "a variation of one demo with a different domain and different details",
    "edge_case": "an edge case: boundary values, empty or unusual inputs",
    "adversarial": "an ambiguous or adversarial case that is easy to label wrongly",
}
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


@dataclass(frozen=True)
class GenerateOptions:
    count: int = 10
    batch_size: int = 5
    fill_gaps: bool = False


@dataclass
class GenerateSummary:
    planned: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    accepted: list[str] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    synthetic_share: float = 0.0
    diversity_before: float | None = None
    diversity_after: float | None = None
    gaps_before: int = 0
    gaps_after: int = 0

    def to_json(self) -> dict:
        accepted = len(self.accepted)
        return {"planned": self.planned, "calls": self.calls, "accepted": accepted,
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
            if gap.cell and "(a new bucket)" not in gap.cell.values():
                cells += [dict(gap.cell)] * gap.need
        return cells[:count]
    axes = {name: d.buckets for name, d in spec.dimensions.items() if d.buckets}
    grid = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    spread = itertools.cycle(grid or [{}])
    while len(cells) < count:
        cells.append(next(spread))
    return cells[:count]


def generate(project: Project, signature_name: str, options: GenerateOptions,
             progress=None) -> GenerateSummary:
    project.require_signature(signature_name)
    params = load_params(project)
    settings = lm.settings(params)
    client = lm.make_lm(settings)
    lm.ensure_reachable(client, settings)
    client = client.copy(tf_attempts=1)  # retried below, where each failure is reported
    loader = SchemaLoader(project)
    signature = loader.signature(signature_name)
    spec = coverage_spec(params, project, signature_name)
    # Planned from counted examples plus those already waiting for review (not planned
    # twice); rejected ones count nowhere, so their cells are planned again.
    before = measure(project, [signature_name], with_pending=True)[0]
    summary = GenerateSummary(diversity_before=before.diversity,
                              gaps_before=_gap_need(before))
    cells = plan_cells(spec, before.gaps, _within_synthetic_share(spec, before, options.count),
                       options.fill_gaps)
    spread(spec, before, cells)
    summary.planned = len(cells)
    run = _Run(project, loader, signature, spec, params, settings, summary)
    batches = [cells[i:i + options.batch_size] for i in range(0, len(cells), options.batch_size)]
    with ThreadPoolExecutor(max_workers=settings.num_threads) as pool:
        for index, _ in enumerate(pool.map(lambda b: run.batch(client, b[0], b[1]),
                                           enumerate(batches)), 1):
            if progress:
                progress(index, len(batches))
    used = lm.usage(client)
    summary.calls, summary.cost = used["lm_calls"], used["cost"]
    summary.prompt_tokens, summary.completion_tokens = (used["prompt_tokens"],
                                                        used["completion_tokens"])
    after = measure(project, [signature_name], with_pending=True)[0]
    summary.diversity_after, summary.gaps_after = after.diversity, _gap_need(after)
    summary.synthetic_share = after.synthetic_share
    write_json(report_path(project, signature_name, "generate"), summary.to_json())
    return summary


def _within_synthetic_share(spec: CoverageSpec, coverage, count: int) -> int:
    """No more examples than an error-level synthetic_max_share still allows."""
    shares = [r.value for r in spec.requirements
              if r.kind == "synthetic_share" and r.level == "error"]
    if not shares or min(shares) >= 1:
        return count
    share = min(shares)
    synthetic = coverage.by_source.get(SYNTHETIC, 0)
    allowed = int(share * (coverage.examples - synthetic) / (1 - share)) - synthetic
    return max(0, min(count, allowed))


def _gap_need(coverage) -> int:
    return sum(g.need for g in coverage.gaps if g.cell)


class _Run:
    """State shared by the batches of one run; appends and duplicate checks are serialized."""

    def __init__(self, project, loader, signature: Signature, spec, params, settings,
                 summary):
        self.project, self.loader, self.signature, self.spec = project, loader, signature, spec
        self.settings, self.summary = settings, summary
        self.lock = threading.RLock()
        self.existing = Existing()
        self.near = NearDuplicates(
            section(params, "validate", ValidateSettings).near_duplicate_threshold)
        for path in project.dataset_files(signature.name):  # one read for both indexes
            self.existing.catch_up(path, self._index_near)
        self.demos = _curated(project, loader, signature, spec)
        quality = section(params, "quality", QualitySettings)
        self.reject_below = quality.reject_below
        self.judge = make_judge(signature) if quality.judge else None
        self.path = project.dataset_dir(signature.name) / SYNTHETIC_FILE

    def _index_near(self, record: dict) -> None:
        if isinstance(record.get("id"), str):
            self.near.add(record)

    def batch(self, client, number: int, cells: list[dict[str, str]]) -> None:
        strategies = [STRATEGIES[(number + i) % len(STRATEGIES)] for i in range(len(cells))]
        prompt = self.prompt(cells, strategies)
        prompt_hash = hashlib.sha256(prompt.encode()).hexdigest()[:16]
        text = self.call(client, prompt, number)
        if text is None:
            self.reject("lm_error", len(cells))
            return
        try:
            items = orjson.loads(_FENCE.sub("", text.strip()))["examples"]
            assert isinstance(items, list)
        except (orjson.JSONDecodeError, KeyError, TypeError, AssertionError):
            self.fail(f"batch {number + 1}: the answer is not the JSON asked for",
                      "malformed", len(cells))
            return
        candidates = []
        for position, cell in enumerate(cells):
            item = items[position] if position < len(items) else None
            record = self.record(item, cell, strategies[position], prompt_hash)
            if record is None:
                self.reject("malformed")
            else:
                candidates.append((record, cell))
        self.accept([c for c in self.in_cells(candidates) if self.good(client, c[0])])

    def call(self, client, prompt: str, number: int) -> str | None:
        """The LM's answer, retrying what is retryable; None when the batch is lost."""
        for attempt in range(lm.MAX_ATTEMPTS):
            try:
                answer = client(prompt)[0]
                # DSPy gives a dict when the server adds reasoning or tool calls to the text.
                return str(answer.get("text") or "") if isinstance(answer, dict) else str(answer)
            except Exception as exc:
                wait = lm.retry_wait(exc, attempt, self.settings.max_retry_wait)
                retry = wait is not None and attempt + 1 < lm.MAX_ATTEMPTS
                what = lm.redacted(str(exc), self.settings, 200)
                self.fail(f"batch {number + 1}, attempt {attempt + 1}: {what}"
                          + (f"; retrying in {wait:g} s" if retry else "; batch lost"))
                if not retry or wait is None:
                    return None
                time.sleep(wait)
        return None

    def prompt(self, cells, strategies) -> str:
        schema = {part: self.loader.resolve(self.signature.schema["properties"][part],
                                            self.signature) for part in ("inputs", "outputs")}
        dims = "\n".join(f"- {name}: {d.description} defined as SQL: {' '.join(d.sql.split())}"
                         for name, d in self.spec.dimensions.items())
        rules = "\n".join(f"- {rule.name}: {rule.description}" for rule in self.signature.rules)
        targets = "\n".join(
            f"Example {i + 1}: {_STRATEGY_TEXT[s]}; it must fall in: "
            + (", ".join(f"{d} = {b}" for d, b in cell.items()) or "any bucket")
            for i, (cell, s) in enumerate(zip(cells, strategies, strict=True)))
        demos = _neighbours(self.demos, cells[:2])
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

    def record(self, item, cell, strategy: str, prompt_hash: str) -> dict | None:
        if not isinstance(item, dict):
            return None
        metadata = {"difficulty": item.get("difficulty") or cell.get("difficulty", "medium"),
                    "category": item.get("category") or cell.get("category", "general"),
                    "review": {"status": "pending"},
                    "provenance": {"model": self.settings.model_shown, "strategy": strategy,
                                   "target_cell": dict(cell), "prompt_hash": prompt_hash}}
        return complete({"inputs": item.get("inputs"), "outputs": item.get("outputs"),
                         "metadata": metadata}, source=SYNTHETIC)

    def in_cells(self, candidates: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
        """The candidates that pass the schema and rules (first: DuckDB needs typed data) and
        land in their target cell, which DuckDB computes for the whole batch in one query."""
        valid = []
        for record, cell in candidates:
            if check_new(self.signature, record, self.existing):
                self.reject("invalid")
            else:
                valid.append((record, cell))
        names = sorted({d for _, cell in valid for d in cell})
        if not names:
            return valid
        types = duck.columns(self.loader, self.signature)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "batch.jsonl"
            write_records(path, [record for record, _ in valid])
            try:
                rows = duck.buckets([path], types, {d: self.spec.dimensions[d].sql
                                                    for d in names}, self.signature.name)
            except ConfigError as exc:  # the SQL fails on a value the LM wrote
                self.fail(f"target cells of a batch: {exc}", "wrong_cell", len(valid))
                return []
        landed = {i: dict(zip(names, cells, strict=True)) for i, cells in rows.items()}
        kept = []
        for record, cell in valid:
            actual = landed.get(record["id"], {})
            if all(actual.get(d) == b for d, b in cell.items()):
                kept.append((record, cell))
            else:
                self.reject("wrong_cell")
        return kept

    def good(self, client, record: dict) -> bool:
        """Scores the example (rules, and the LM judge when enabled) into its metadata."""
        try:
            record["metadata"]["quality"] = score(record, self.signature, self.judge, client)
        except Exception as exc:  # the judge's call failed after retries
            self.fail(f"judge: {lm.redacted(str(exc), self.settings, 200)}",
                      "judge_error", 1)
            return False
        if record["metadata"]["quality"]["score"] < self.reject_below:
            self.reject("quality")
            return False
        return True

    def accept(self, candidates) -> None:
        # Under the file's lock, after reading what other processes appended meanwhile:
        # the duplicate check sees everything the file holds when the append happens.
        with self.lock, writer.locked(self.path):
            self.existing.catch_up(self.path, self._index_near)
            kept = []
            for record, _ in candidates:
                if input_key(record) in self.existing.inputs:
                    self.reject("duplicate")
                elif self.near.match(record):
                    self.reject("near_duplicate")
                else:
                    self.existing.add(record)
                    self.near.add(record)
                    kept.append(record)
            writer.append_records(self.path, kept)
            self.summary.accepted += [r["id"] for r in kept]

    def reject(self, reason: str, n: int = 1) -> None:
        with self.lock:
            self.summary.rejected[reason] += n

    def fail(self, message: str, reason: str | None = None, n: int = 0) -> None:
        with self.lock:
            self.summary.failures.append(message)
            if reason:
                self.reject(reason, n)


def _curated(project: Project, loader: SchemaLoader, signature: Signature,
             spec: CoverageSpec) -> list[tuple[dict, dict[str, str]]]:
    """Hand-written examples with their cells (every dimension's bucket), for demos."""
    path = project.dataset_dir(signature.name) / EXAMPLES_FILE
    if not path.exists() or not spec.dimensions:
        return []
    types = duck.columns(loader, signature)
    names = list(spec.dimensions)
    cells = {i: dict(zip(names, found, strict=True)) for i, found in duck.buckets(
        [path], types, {n: spec.dimensions[n].sql for n in names}, signature.name).items()}
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
