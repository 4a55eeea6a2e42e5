"""The proposal loop shared by `tf generate` and `tf bootstrap`: what an LM proposes becomes
a pending example only after the same steps, in the same order, with the same reasons.

A candidate source (generate's prompt -> batch of examples, bootstrap's prompt -> teacher
label) cuts its work into units, one LM call each. For every unit the loop:

1. asks: the source's LM call. Retries are `lm.retrying`'s, run by the client itself (the
   one retry policy); the loop only reports each failed attempt, and a unit whose call
   fails for good loses all its candidates (`lm_error`).
2. reads: the answer becomes candidate records; an item that is no example, or an answer
   that is not what was asked, is `malformed`.
3. checks: schema, rules and a fresh id (`invalid`), then the source's own check
   (generate: the example lands in its target cell, `wrong_cell`).
4. scores: `tf_cli.quality`'s rules, and the LM judge with `quality.judge` (`judge_error`
   when its call fails for good); below `quality.reject_below` is `quality`.
5. appends: under the target file's lock, after reading what other processes appended
   meanwhile, exact (`duplicate`) and near (`near_duplicate`) duplicates of everything the
   signature holds are refused and the rest is appended at once, so an interrupted run
   keeps what it accepted and a re-run never adds it twice.

Units run on `lm.num_threads` threads. `Rejection` is the one vocabulary of reasons: the
summaries, their JSON and reports/<sig>/generate.json count rejections under its values,
and every rejection keeps its evidence (the reason's detail, an excerpt of the model's
answer, the target cell, the prompt's hash) for the run's rejects file,
reports/<sig>/<command>.rejects.jsonl (`write_rejects`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson

from tf_cli import lm, writer
from tf_cli.dspy_io import schema_adapter
from tf_cli.examples import Existing, check_new, input_key
from tf_cli.near_duplicates import NearDuplicates
from tf_cli.project import Project
from tf_cli.quality import judge_outputs, make_judge, score
from tf_cli.schemas import Signature
from tf_cli.settings import QualitySettings
from tf_cli.structured import NotParsed, excerpt

T = TypeVar("T")


class Rejection(StrEnum):
    """Why a candidate was not kept (the keys of a summary's `rejected`)."""

    LM_ERROR = "lm_error"  # the LM call for its unit failed after the retries
    MALFORMED = "malformed"  # the answer, or this item of it, is not an example
    INVALID_PROMPT = "invalid_prompt"  # bootstrap: the prompt itself breaks the schema
    INVALID = "invalid"  # schema, rules or a used id
    WRONG_CELL = "wrong_cell"  # generate: not in the coverage cell it was asked for
    JUDGE_ERROR = "judge_error"  # the judge's call failed after the retries
    QUALITY = "quality"  # scored below quality.reject_below
    DUPLICATE = "duplicate"  # the same inputs as an example the signature holds
    NEAR_DUPLICATE = "near_duplicate"  # Jaccard over validate.near_duplicate_threshold


class NotAsked(Exception):
    """The LM answered, but not with what was asked (the message says how): every
    candidate of the unit is malformed."""


# The most rejections a run keeps evidence for (each holds an answer excerpt of up to
# 2 KB); the counts go on past it.
MAX_EVIDENCE = 5000
MAX_CANDIDATE_BYTES = 4000  # a candidate longer than this is kept as an excerpt


@dataclass
class Tally:
    """What a run accepted, rejected (by `Rejection`, each with its evidence) and failed at;
    safe across threads. The commands' summaries extend it."""

    accepted: list[str] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)  # evidence, one per rejection
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False,
                                  compare=False)

    def reject(self, reason: Rejection, n: int = 1, evidence: dict | None = None) -> None:
        """Count `n` candidates rejected for `reason`; `evidence` says what was seen
        (detail, answer excerpt, target cell, prompt hash...)."""
        if n:
            with self._lock:
                self.rejected[reason.value] += n
                if len(self.rejects) < MAX_EVIDENCE:
                    self.rejects.append({"reason": reason.value, **({"count": n} if n > 1
                                                                     else {}),
                                         **(evidence or {})})

    def fail(self, message: str, reason: Rejection | None = None, n: int = 0,
             evidence: dict | None = None) -> None:
        with self._lock:
            self.failures.append(message)
        if reason is not None:
            self.reject(reason, n, {"detail": message, **(evidence or {})})

    def accept(self, ids: list[str]) -> None:
        with self._lock:
            self.accepted += ids


class Unit(Protocol):
    """One LM call's worth of work."""

    @property
    def label(self) -> str:  # names it in failure messages: "batch 3", "prompt 01J..."
        ...

    @property
    def size(self) -> int:  # the candidates it stands for, all lost if its call fails
        ...


U = TypeVar("U", bound=Unit)


class Source(Protocol[U]):
    """Where candidates come from: `tf_cli.generate` and `tf_cli.bootstrap` build one."""

    kind: str  # what a unit is called when it is lost: "batch", "prompt"

    def units(self) -> Sequence[U]: ...

    def ask(self, unit: U, client) -> Any:
        """The LM's answer for `unit`; raises when the call fails."""
        ...

    def read(self, unit: U, answer: Any) -> list[dict | None]:
        """Candidate records from the answer, None for an item that is no example; raises
        NotAsked when the whole answer is not what was asked."""
        ...

    def evidence(self, unit: U, answer: Any = None) -> dict:
        """What identifies the unit (and its answer, when there is one) in the rejects
        file: the unit, target cells, prompt hash, an excerpt of the answer."""
        ...

    def fits(self, records: list[dict], tally: Tally) -> list[dict]:
        """The records (already valid) that pass the source's own check; the others are
        counted in `tally`."""
        ...


class Appender:
    """Appends accepted candidates to one dataset file without duplicating anything the
    signature holds. It alone takes the file's lock, for the whole read-then-append."""

    def __init__(self, project: Project, signature: Signature, path: Path,
                 near_duplicate_threshold: float):
        self.path = path
        self.existing = Existing()
        self.near = NearDuplicates(near_duplicate_threshold)
        self._lock = threading.Lock()  # threads of this run; the file lock is for processes
        for source in project.dataset_files(signature.name):  # one read for both indexes
            self.existing.catch_up(source, self._index)

    def _index(self, record: dict) -> None:
        if isinstance(record.get("id"), str):
            self.near.add(record)

    def append(self, records: list[dict], tally: Tally,
               evidence: Callable[[dict], dict] = lambda record: {}) -> None:
        if not records:
            return
        # Under the file's lock, after reading what other processes appended meanwhile:
        # the duplicate checks see everything the file holds when the append happens.
        with self._lock, writer.locked(self.path):
            self.existing.catch_up(self.path, self._index)
            kept = []
            for record in records:
                if input_key(record) in self.existing.inputs:
                    tally.reject(Rejection.DUPLICATE, evidence={
                        "detail": "the same inputs as an example the signature holds",
                        **evidence(record)})
                elif (twin := self.near.match(record)):
                    tally.reject(Rejection.NEAR_DUPLICATE, evidence={
                        "detail": f"near duplicate of {twin}", **evidence(record)})
                else:
                    self.existing.add(record)
                    self.near.add(record)
                    kept.append(record)
            writer.append_records(self.path, kept)
            tally.accept([r["id"] for r in kept])


class _Lost(Exception):
    """An LM call that failed for good; it has been reported."""


def run(source: Source, *, project: Project, signature: Signature, target: Path, client,
        lm_settings: lm.LMSettings, quality: QualitySettings,
        near_duplicate_threshold: float, tally: Tally,
        progress: Callable[[int, int], None] | None = None) -> Tally:
    """Run every unit of `source` through the loop, appending what passes to `target`;
    `progress(done, total)` after each unit. Returns `tally`, filled in."""
    loop = _Loop(signature, client, lm_settings, quality, tally,
                 Appender(project, signature, target, near_duplicate_threshold))
    units = source.units()
    with ThreadPoolExecutor(max_workers=lm_settings.num_threads) as pool:
        for done, _ in enumerate(pool.map(lambda unit: loop.unit(source, unit), units), 1):
            if progress:
                progress(done, len(units))
    return tally


class _Loop:
    """Steps 1-4 for one unit at a time, then hands the survivors to the Appender."""

    def __init__(self, signature: Signature, client, lm_settings: lm.LMSettings,
                 quality: QualitySettings, tally: Tally, appender: Appender):
        self.signature, self.client, self.lm_settings = signature, client, lm_settings
        self.tally, self.appender = tally, appender
        self.reject_below = quality.reject_below
        self.judge = make_judge(signature) if quality.judge else None
        self.judge_adapter = schema_adapter(judge_outputs(), "judge",
                                            getattr(client, "tf_constraint", None))

    def unit(self, source: Source, unit: Unit) -> None:
        try:
            answer = self._call(unit.label, f"{source.kind} lost",
                                lambda: source.ask(unit, self.client))
        except NotParsed as exc:
            self.tally.fail(f"{unit.label}: {exc}", Rejection.MALFORMED, unit.size,
                            source.evidence(unit, exc.answer))
            return
        except _Lost as lost:
            self.tally.reject(Rejection.LM_ERROR, unit.size,
                              {"detail": str(lost), **source.evidence(unit)})
            return
        try:
            items = source.read(unit, answer)
        except NotAsked as exc:
            self.tally.fail(f"{unit.label}: {exc}", Rejection.MALFORMED, unit.size,
                            source.evidence(unit, answer))
            return
        seen = source.evidence(unit, answer)

        def evidence(record: dict, **more) -> dict:
            return {**seen, **candidate_evidence(record), **more}

        valid = []
        for position, item in enumerate(items):
            if item is None:
                self.tally.reject(Rejection.MALFORMED, evidence={
                    **seen, "detail": f"item {position + 1} of the answer is not an example "
                                      "(an object with inputs and outputs)"})
            elif problems := _checked(self.signature, item, self.appender.existing):
                self.tally.reject(Rejection.INVALID, evidence=evidence(
                    item, detail="; ".join(f"{p.pointer}: {p.message}" for p in problems[:5])))
            else:
                valid.append(item)
        # The source's check comes after the schema's: generate's needs typed data.
        fitting = source.fits(valid, self.tally) if valid else []
        self.appender.append([r for r in fitting if self._scored(unit, r, evidence)],
                             self.tally, evidence)

    def _scored(self, unit: Unit, record: dict, evidence: Callable[..., dict]) -> bool:
        """Scores the record into its metadata.quality; False when it is not kept."""
        if self.judge is None:
            quality = score(record, self.signature)
        else:
            try:
                quality = self._call(f"{unit.label}, judge", "example rejected",
                                     lambda: score(record, self.signature, self.judge,
                                                   self.client, self.judge_adapter))
            except (_Lost, NotParsed) as exc:
                self.tally.reject(Rejection.JUDGE_ERROR,
                                  evidence=evidence(record, detail=str(exc)))
                return False
        record["metadata"]["quality"] = quality
        if quality["score"] < self.reject_below:
            self.tally.reject(Rejection.QUALITY, evidence=evidence(
                record, detail=f"quality {quality['score']} below quality.reject_below "
                               f"{self.reject_below}", quality=quality))
            return False
        return True

    def _call(self, label: str, lost: str, call: Callable[[], T]) -> T:
        """`call()`, with every failed LM attempt in it reported as a failure (the client
        retries, by lm.retrying); raises _Lost (its message says why) when it fails for
        good, and lets NotParsed through."""
        reported: list[Exception] = []

        def report(exc: Exception, attempt: int, wait: float | None) -> None:
            reported.append(exc)
            then = f"retrying in {wait:g} s" if wait is not None else lost
            self.tally.fail(f"{label}, attempt {attempt + 1}: {self._shown(exc)}; {then}")

        with lm.reporting_attempts(report):
            try:
                return call()
            except NotParsed:
                raise
            except Exception as exc:  # any failure loses the unit; the run goes on
                if not reported or reported[-1] is not exc:
                    # Not an LM request's error (those were reported above).
                    self.tally.fail(f"{label}: {self._shown(exc)}; {lost}")
                raise _Lost(self._shown(exc)) from exc

    def _shown(self, exc: Exception) -> str:
        return lm.explain(exc, self.lm_settings, 200)


def _checked(signature: Signature, record: dict, existing: Existing) -> list:
    """check_new, with an answer nested too deeply for the validator (a hostile server's)
    one more problem rather than a crash."""
    from tf_cli.problems import Problem

    try:
        return check_new(signature, record, existing)
    except (ValueError, RecursionError):
        return [Problem("<answer>", "nested too deeply to check", pointer="$")]


def candidate_evidence(record: dict) -> dict:
    """A candidate example as the rejects file shows it: its id, inputs and outputs, and the
    target cell and prompt hash its provenance names."""
    metadata = record.get("metadata")
    provenance = metadata.get("provenance") if isinstance(metadata, dict) else None
    if not isinstance(provenance, dict):
        provenance = {}
    candidate = {key: record.get(key) for key in ("id", "inputs", "outputs")}
    try:
        as_json = orjson.dumps(candidate, default=str)
    except TypeError:  # nested past orjson's limit: a hostile answer
        return {"candidate": "(nested too deeply to show)"}
    # An answer can be as long as lm.max_answer_bytes: a long candidate is kept as the
    # start of its JSON, as the answer is.
    shown: dict = {"candidate": candidate if len(as_json) <= MAX_CANDIDATE_BYTES else
                   excerpt(as_json.decode(errors="replace"), MAX_CANDIDATE_BYTES)}
    for key in ("target_cell", "prompt_hash", "origin"):
        if key in provenance:
            shown[key] = provenance[key]
    return shown


def write_rejects(path: Path, tally: Tally) -> None:
    """The run's rejections with their evidence, one JSON object per line, replacing the
    last run's file (written whole, then moved into place)."""
    from tf_cli.records import write_records

    path.parent.mkdir(parents=True, exist_ok=True)
    write_records(path, tally.rejects)
