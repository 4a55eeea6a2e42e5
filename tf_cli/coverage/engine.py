"""Coverage measured by DuckDB directly over the JSONL files.

One scan per signature computes every dimension and `where` filter into a small table of
buckets; each requirement (one class per kind: tf_cli/coverage/requirements.py) then checks
the bucket counts or runs its GROUP BY over that table. Only counted examples
(tf_cli.counting) are measured; pending and rejected ones are counted apart. SQL from
params.yaml is checked against an empty table of the same types first, so a typo is a
clear configuration error naming the signature and the dimension, before any data is read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tf_cli import duck

if TYPE_CHECKING:
    import duckdb
from tf_cli.counting import COUNTED, PENDING, REJECTED, STALE, STATE_SQL
from tf_cli.coverage.gaps import Gap, TargetGap
from tf_cli.coverage.requirements import NULL_BUCKET, Measured, Requirement, TooBig, WhereMin
from tf_cli.coverage.spec import CoverageSpec, params_problem
from tf_cli.errors import ConfigError
from tf_cli.layout import SYNTHETIC
from tf_cli.params import coverage_file
from tf_cli.problems import Problem
from tf_cli.project import Project
from tf_cli.schemas import SchemaLoader
from tf_cli.words import plural


@dataclass(frozen=True)
class RequirementResult:
    """One requirement checked: its type says which kind it is."""

    requirement: Requirement
    passed: bool
    actual: float
    detail: str
    cells: tuple[tuple[dict[str, str], int], ...] | None = None  # a grid's, every one

    @property
    def label(self) -> str:
        return self.requirement.label

    @property
    def level(self) -> str:
        return self.requirement.level

    @property
    def expected(self) -> float:
        return self.requirement.expected

    def to_json(self) -> dict:
        cells = {} if self.cells is None else {
            "cells": [{"cell": cell, "count": count} for cell, count in self.cells]}
        return {"label": self.label, "kind": self.requirement.KIND, "level": self.level,
                "passed": self.passed, "actual": self.actual, "expected": self.expected,
                "detail": self.detail, **self.requirement.subject(), **cells}


@dataclass
class SignatureCoverage:
    signature: str
    examples: int
    min_examples: int
    target_examples: int
    by_source: dict[str, int]
    synthetic_share: float
    diversity: float | None
    dimensions: dict[str, dict[str, int]]
    requirements: list[RequirementResult] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    pending: int = 0  # awaiting review: not counted above
    rejected: int = 0  # rejected by a reviewer: never counted
    pending_dimensions: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """What `tf check` asks of this signature: min_examples, and no error-level
        requirement failing."""
        return self.not_ready_because is None

    @property
    def not_ready_because(self) -> str | None:
        """Why it is not ready, in a few words ("2 of min 20", "1 error failing"), or None."""
        if self.examples < self.min_examples:
            return f"{self.examples} of min {self.min_examples}"
        if self.failed_errors:
            return f"{plural(len(self.failed_errors), 'error')} failing"
        return None

    @property
    def failed_errors(self) -> list[RequirementResult]:
        return [r for r in self.requirements if not r.passed and r.level == "error"]

    @property
    def failed_warnings(self) -> list[RequirementResult]:
        return [r for r in self.requirements if not r.passed and r.level == "warn"]

    def to_json(self) -> dict:
        # Every field in declaration order (the JSON's key order), requirements and gaps by
        # their own to_json.
        data = asdict(replace(self, requirements=[], gaps=[]))
        data["requirements"] = [r.to_json() for r in self.requirements]
        data["gaps"] = [g.to_json() for g in self.gaps]
        data["ready"] = self.ready
        return data


def measure(project: Project, only: list[str] | None = None,
            files: dict[str, list[Path]] | None = None,
            diversity: bool = True, with_pending: bool = False) -> list[SignatureCoverage]:
    """Coverage of every signature (or of `only`), as params.yaml defines it, over the
    counted examples of the signature's dataset files (or of `files[signature]`, e.g. a
    train split). `with_pending` also counts examples awaiting review, for planning
    generation: work already in the review queue is not planned again."""
    loader = project.schemas
    specs = list(project.coverage.values())
    if only:
        for name in only:
            project.require_signature(name)
        specs = [s for s in specs if s.signature in only]
    sample = project.settings.coverage.diversity_sample if diversity else 0
    chosen = {spec.signature: (files or {}).get(spec.signature,
                                                project.dataset_files(spec.signature))
              for spec in specs}
    with duck.session([f for listed in chosen.values() for f in listed]) as connection:
        return [_measure_one(connection, project, loader, spec, sample,
                             chosen[spec.signature], with_pending) for spec in specs]


def measure_change(project: Project, signature: str, base_files: list[Path],
                   head_extra: Path, replaced_ids: set[str]
                   ) -> tuple[SignatureCoverage, SignatureCoverage]:
    """Coverage of one signature on two sides of a change, from one scan (tf diff): the
    base is `base_files`; the head is the base without the examples of `replaced_ids`, plus
    the examples in `head_extra` (the head's lines of those ids and its new ones)."""
    loader = project.schemas
    spec = project.coverage[project.require_signature(signature)]
    with duck.session([*base_files, head_extra]) as connection:
        table = _Table.build(connection, project, loader, spec, [*base_files, head_extra],
                             0, with_filename=True)
        extra = duck.file_literal(head_extra)
        connection.execute("CREATE TEMP TABLE replaced (id VARCHAR)")
        if replaced_ids:
            connection.executemany("INSERT INTO replaced VALUES (?)",
                                   [[i] for i in sorted(replaced_ids)])
        sides = []
        for kept in (f"filename <> {extra}",
                     f"filename = {extra} OR id NOT IN (SELECT id FROM replaced)"):
            connection.execute("CREATE OR REPLACE TEMP TABLE cov_all AS SELECT * EXCLUDE "
                               f"(filename) FROM cov_scanned WHERE {kept}")
            sides.append(table.evaluate(False))
        return sides[0], sides[1]


def _measure_one(con, project: Project, loader: SchemaLoader, spec: CoverageSpec,
                 sample: int, files: list[Path], with_pending: bool) -> SignatureCoverage:
    table = _Table.build(con, project, loader, spec, files, sample)
    return table.evaluate(with_pending)


@dataclass
class _Table:
    """A signature's examples scanned once into cov_all: a row per example with its
    bucket in every dimension, each `where` filter's value, its source and state (and,
    for the diversity sample, its words)."""

    con: duckdb.DuckDBPyConnection
    project: Project
    spec: CoverageSpec
    wheres: tuple[str, ...]
    diversity: bool

    @classmethod
    def build(cls, con, project: Project, loader: SchemaLoader, spec: CoverageSpec,
              files: list[Path], sample: int, with_filename: bool = False) -> _Table:
        import duckdb

        signature = loader.signature(spec.signature)
        types = duck.columns(loader, signature)
        filters = [r for r in spec.requirements if isinstance(r, WhereMin)]
        wheres = [r.where for r in filters]
        _check_sql(con, project, spec, types, filters)
        selects = [f'CAST(({d.sql}) AS VARCHAR) AS "d_{name}"'
                   for name, d in spec.dimensions.items()]
        selects += [f"coalesce(({w}), false) AS w_{i}" for i, w in enumerate(wheres)]
        selects.append("metadata.source AS source")
        selects.append(f"{STATE_SQL} AS state")
        selects.append("id")
        # The diversity sample's words come from the same scan (reading the JSONL is most
        # of the cost): every n-th example by id hash, n from the number of lines.
        every = max(1, math.ceil(_count_lines(files) / sample)) if sample else 0
        if every:
            # at most MAX_DIVERSITY_WORDS words an example: the sample bounds the examples,
            # not their size, and a few of megabytes each ran DuckDB out of memory
            selects.append(f"CASE WHEN hash(id) % {every} = 0 THEN list_filter("
                           f"regexp_split_to_array(lower({duck.text_sql(loader, signature)}),"
                           f" '[^[:alnum:]]+'), lambda w: w <> '')[1:{MAX_DIVERSITY_WORDS}] "
                           "END AS words")
        if with_filename:
            selects.append("filename")
        target = "cov_scanned" if with_filename else "cov_all"
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT "
                        f"{', '.join(selects)} FROM "
                        f"{duck.source_sql(files, types, with_filename)}")
        except duckdb.Error as exc:  # SQL that parses and types, yet fails on a real value
            duck.unreadable(exc)  # or a line DuckDB cannot read at all
            raise _failing_sql(con, project, spec, types, files, filters, exc) from None
        return cls(con, project, spec, tuple(wheres), bool(every))

    def evaluate(self, with_pending: bool) -> SignatureCoverage:
        """Bucket counts and every requirement, over cov_all."""
        con, spec = self.con, self.spec
        # A pending copy of a counted example (left by an interrupted approval) is no
        # longer waiting for review: it counts nowhere.
        con.execute(f"UPDATE cov_all SET state = '{STALE}' WHERE state = '{PENDING}' AND id "
                    f"IN (SELECT id FROM cov_all WHERE state = '{COUNTED}')")
        counted = (COUNTED, PENDING) if with_pending else (COUNTED,)
        con.execute(f"CREATE OR REPLACE TEMP VIEW cov AS SELECT * FROM cov_all WHERE state "
                    f"IN ({', '.join(duck.literal(state) for state in counted)})")
        states = dict(con.execute("SELECT state, count(*) FROM cov_all GROUP BY 1").fetchall())
        total = sum(states.get(state, 0) for state in counted)
        by_source = dict(con.execute("SELECT coalesce(source, '(none)'), count(*) FROM cov "
                                     "GROUP BY 1 ORDER BY 2 DESC").fetchall())
        dimensions = {name: _bucket_counts(con, name, d.buckets)
                      for name, d in spec.dimensions.items()}
        result = SignatureCoverage(
            spec.signature, total, spec.min_examples, spec.target_examples, by_source,
            by_source.get(SYNTHETIC, 0) / total if total else 0.0,
            _diversity(con) if self.diversity and total else None, dimensions,
            pending=states.get(PENDING, 0), rejected=states.get(REJECTED, 0))
        if states.get(PENDING) and not with_pending:
            result.pending_dimensions = {
                name: _bucket_counts(con, name, d.buckets, f"cov_all WHERE state = '{PENDING}'")
                for name, d in spec.dimensions.items()}
        measured = Measured(con, total, by_source, dimensions,
                            {name: d.buckets for name, d in spec.dimensions.items()},
                            self.wheres)
        for requirement in spec.requirements:
            try:
                outcome = requirement.evaluate(measured)
            except TooBig as exc:
                raise ConfigError([params_problem(self.project, requirement.origin,
                                                  f"{spec.signature}: {exc}")]) from None
            result.requirements.append(RequirementResult(requirement, outcome.passed,
                                                         outcome.actual, outcome.detail,
                                                         outcome.cells))
            result.gaps.extend(outcome.gaps)
        if total < spec.target_examples:
            result.gaps.append(TargetGap(spec.target_examples - total, total, "warn",
                                         f"target of {plural(spec.target_examples, 'example')}"))
        result.gaps.sort(key=lambda g: (g.level != "error", -g.need))
        return result


def _failing_sql(con, project: Project, spec: CoverageSpec, types: dict[str, str],
                 files: list[Path], filters: list[WhereMin], error) -> ConfigError:
    """Which dimension or filter fails on the data, as a configuration error naming it and
    its line in params.yaml."""
    import duckdb

    source = duck.source_sql(files, types)
    for what, origin, sql in _sql_places(spec, filters):
        try:
            con.execute(f"SELECT count(({sql})) FROM {source}").fetchall()
        except duckdb.Error as exc:
            return ConfigError([params_problem(project, origin, f"{spec.signature}: {what}: "
                                               "DuckDB fails on the data: "
                                               f"{str(exc).splitlines()[0]}")])
    return ConfigError([Problem(coverage_file(project), f"{spec.signature}: the coverage SQL "
                                f"fails on the data: {str(error).splitlines()[0]}",
                                config=True)])


def _sql_places(spec: CoverageSpec, filters: list[WhereMin]
                ) -> list[tuple[str, tuple[str | int, ...], str]]:
    """(what, key path in params.yaml, SQL) of every dimension and `where` of a signature."""
    places = [(f"dimension {name}", d.origin, d.sql) for name, d in spec.dimensions.items()]
    return places + [(f"where {r.where!r}", (*r.origin, "where") if r.origin else (), r.where)
                     for r in filters]


def _check_sql(con, project: Project, spec: CoverageSpec, types: dict[str, str],
               filters: list[WhereMin]) -> None:
    import duckdb

    empty = duck.empty_sql(types)
    problems = []
    for what, origin, sql in _sql_places(spec, filters):
        try:
            con.execute(f"SELECT ({sql}) FROM {empty} LIMIT 0")
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            problems.append(params_problem(project, origin, f"{spec.signature}: {what}: DuckDB "
                                           f"rejects the SQL: {reason}"))
    if problems:
        raise ConfigError(problems)


def _bucket_counts(con, name: str, declared: tuple[str, ...],
                   relation: str = "cov") -> dict[str, int]:
    rows = con.execute(f'SELECT coalesce("d_{name}", \'{NULL_BUCKET}\'), count(*) FROM '
                       f"{relation} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    counts = {bucket: 0 for bucket in declared}
    counts.update(rows)
    return counts


MAX_DIVERSITY_WORDS = 2_000


def _diversity(con) -> float | None:
    """Share of distinct word trigrams in a fixed-size, id-hashed sample of the counted
    examples (the `words` column of cov_all).

    1.0 means no trigram repeats; templated data scores low. A sample of fixed size keeps
    scores comparable as the data set grows, and hashing ids keeps it stable.
    """
    value = con.execute("""
        WITH grams AS (
            SELECT unnest(list_transform(range(1, len(words) - 1),
                          lambda i: words[i] || ' ' || words[i + 1] || ' ' || words[i + 2]))
                   AS g
            FROM cov WHERE len(words) >= 3)
        SELECT count(DISTINCT g)::DOUBLE / nullif(count(*), 0) FROM grams""").fetchone()[0]
    return round(value, 4) if value is not None else None


def _count_lines(files: list[Path]) -> int:
    """Lines in the files (a bound on the examples, known before DuckDB reads them)."""
    lines = 0
    for path in files:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                lines += chunk.count(b"\n")
    return lines


def require_dimensions(project: Project, signature: str, dimensions: list[str],
                       setting: list[str]) -> None:
    """A setting that names coverage dimensions (balance.cell_dimensions, effect.dimensions)
    names only dimensions the signature has; else a configuration error at `setting`."""
    spec = project.signature(signature).coverage
    missing = [d for d in dimensions if d not in spec.dimensions]
    if missing:
        raise ConfigError([params_problem(project, setting,
                                          f'{".".join(setting)}: "{missing[0]}" is not a '
                                          f"coverage dimension of {signature}")])


def example_buckets(project: Project, signature: str, dimensions: list[str],
                    files: list[Path], setting: list[str]) -> dict[str, tuple]:
    """id -> the bucket of each of `dimensions` (coverage dimensions the setting at
    `setting` names) for every example in `files`, computed by DuckDB from the coverage
    SQL: the cells the balance stage caps, tf prune caps and the effect stage withholds."""
    require_dimensions(project, signature, dimensions, setting)
    spec = project.signature(signature).coverage
    loader = project.schemas
    return duck.buckets(files, duck.columns(loader, loader.signature(signature)),
                        {d: spec.dimensions[d].sql for d in dimensions}, signature,
                        lambda d, message: params_problem(project, spec.dimensions[d].origin,
                                                          message))


JSON_VERSION = 1


def to_json(coverages: list[SignatureCoverage]) -> dict:
    """The stable form for tools (`tf coverage --format json`, `tf check`'s JSON), version 1:
        {"version": 1, "signatures": [{
            "signature", "examples", "min_examples", "target_examples", "ready",
            "by_source": {source: count}, "synthetic_share", "diversity",
            "dimensions": {dimension: {bucket: count}},
            "pending", "rejected", "pending_dimensions": {dimension: {bucket: count}},
            "requirements": [{"label", "kind", "level", "passed", "actual", "expected",
                              "detail"}],
            "gaps": [{"kind", "need", "have", "level", "requirement",
                      "cell": {dimension: bucket}?, "where": sql?, "avoid": {dimension: bucket}?}]
        }]}
    Gaps are sorted error first, then by how many examples they need. Every count but the
    pending and rejected ones is of counted examples (tf_cli.counting).
    """
    return {"version": JSON_VERSION, "signatures": [c.to_json() for c in coverages]}
