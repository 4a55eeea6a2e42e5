"""Coverage measured by DuckDB directly over the JSONL files.

One scan per signature computes every dimension and `where` filter into a small table of
buckets; each requirement is then a GROUP BY over that table. Only counted examples
(tf_cli.counting) are measured; pending and rejected ones are counted apart. SQL from
params.yaml is checked against an empty table of the same types first, so a typo is a
clear configuration error naming the signature and the dimension, before any data is read.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tf_cli import duck
from tf_cli.counting import COUNTED, PENDING, REJECTED, STALE, STATE_SQL
from tf_cli.coverage.spec import CoverageSpec, Requirement, coverage_specs
from tf_cli.errors import ConfigError
from tf_cli.params import PARAMS_FILE, load_params
from tf_cli.problems import Problem
from tf_cli.project import Project
from tf_cli.schemas import SchemaLoader
from tf_cli.settings import DEFAULT_DIVERSITY_SAMPLE

NULL_BUCKET = "(none)"
SYNTHETIC = "synthetic"


@dataclass
class RequirementResult:
    label: str
    kind: str
    level: str
    passed: bool
    actual: float
    expected: float
    detail: str
    dimension: str | None = None
    bucket: str | None = None  # for requirements about one bucket


@dataclass
class Gap:
    """Examples still needed: where (a cell of dimension -> bucket, or a filter) and how many."""

    kind: str  # total, bucket, cell, where, distinct, share, synthetic
    need: int
    have: int
    level: str
    requirement: str
    cell: dict[str, str] | None = None
    where: str | None = None
    avoid: dict[str, str] | None = None  # for share gaps: add examples outside this bucket


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
        return self.examples >= self.min_examples

    @property
    def failed_errors(self) -> list[RequirementResult]:
        return [r for r in self.requirements if not r.passed and r.level == "error"]

    @property
    def failed_warnings(self) -> list[RequirementResult]:
        return [r for r in self.requirements if not r.passed and r.level == "warn"]

    def to_json(self) -> dict:
        data = asdict(self)
        data["ready"] = self.ready
        data["gaps"] = [{k: v for k, v in asdict(g).items() if v is not None} for g in self.gaps]
        return data


def measure(project: Project, only: list[str] | None = None,
            files: dict[str, list[Path]] | None = None,
            diversity: bool = True, with_pending: bool = False) -> list[SignatureCoverage]:
    """Coverage of every signature (or of `only`), as params.yaml defines it, over the
    counted examples of the signature's dataset files (or of `files[signature]`, e.g. a
    train split). `with_pending` also counts examples awaiting review, for planning
    generation: work already in the review queue is not planned again."""
    loader = SchemaLoader(project)
    params = load_params(project)
    specs = coverage_specs(params, project)
    if only:
        for name in only:
            project.require_signature(name)
        specs = [s for s in specs if s.signature in only]
    sample = (params.get("coverage") or {}).get("diversity_sample", DEFAULT_DIVERSITY_SAMPLE) \
        if diversity else 0
    chosen = {spec.signature: (files or {}).get(spec.signature,
                                                project.dataset_files(spec.signature))
              for spec in specs}
    connection = duck.connect([f for listed in chosen.values() for f in listed])
    try:
        return [_measure_one(connection, project, loader, spec, sample,
                             chosen[spec.signature], with_pending) for spec in specs]
    finally:
        connection.close()


def _measure_one(con, project: Project, loader: SchemaLoader, spec: CoverageSpec,
                 sample: int, files: list[Path], with_pending: bool) -> SignatureCoverage:
    import duckdb

    signature = loader.signature(spec.signature)
    types = duck.columns(loader, signature)
    wheres = [r.where for r in spec.requirements if r.kind == "where" and r.where is not None]
    _check_sql(con, spec, types, wheres)
    selects = [f'CAST(({d.sql}) AS VARCHAR) AS "d_{name}"' for name, d in spec.dimensions.items()]
    selects += [f"coalesce(({w}), false) AS w_{i}" for i, w in enumerate(wheres)]
    selects.append("metadata.source AS source")
    selects.append(f"{STATE_SQL} AS state")
    selects.append("id")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE cov_all AS SELECT {', '.join(selects)} "
                    f"FROM {duck.source_sql(files, types)}")
    except duckdb.Error as exc:  # SQL that parses and types, yet fails on a real value
        raise _failing_sql(con, spec, types, files, wheres, exc) from None
    # A pending copy of a counted example (left by an interrupted approval) is no longer
    # waiting for review: it counts nowhere.
    con.execute(f"UPDATE cov_all SET state = '{STALE}' WHERE state = '{PENDING}' AND id IN "
                f"(SELECT id FROM cov_all WHERE state = '{COUNTED}')")
    counted = f"'{COUNTED}', '{PENDING}'" if with_pending else f"'{COUNTED}'"
    con.execute(f"CREATE OR REPLACE TEMP VIEW cov AS SELECT * FROM cov_all "
                f"WHERE state IN ({counted})")
    states = dict(con.execute("SELECT state, count(*) FROM cov_all GROUP BY 1").fetchall())
    total = con.execute("SELECT count(*) FROM cov").fetchone()[0]
    by_source = dict(con.execute("SELECT coalesce(source, '(none)'), count(*) FROM cov "
                                 "GROUP BY 1 ORDER BY 2 DESC").fetchall())
    dimensions = {name: _bucket_counts(con, name, d.buckets)
                  for name, d in spec.dimensions.items()}
    result = SignatureCoverage(
        spec.signature, total, spec.min_examples, spec.target_examples, by_source,
        by_source.get(SYNTHETIC, 0) / total if total else 0.0,
        _diversity(con, loader, signature, files, types, total, sample, counted), dimensions,
        pending=states.get(PENDING, 0), rejected=states.get(REJECTED, 0))
    if states.get(PENDING) and not with_pending:
        result.pending_dimensions = {
            name: _bucket_counts(con, name, d.buckets, f"cov_all WHERE state = '{PENDING}'")
            for name, d in spec.dimensions.items()}
    for requirement in spec.requirements:
        passed, actual, detail, gaps = _evaluate(con, requirement, result, spec, wheres)
        result.requirements.append(RequirementResult(
            requirement.label, requirement.kind, requirement.level, passed, actual,
            requirement.value, detail, requirement.dimension, requirement.bucket))
        result.gaps.extend(gaps)
    if total < spec.target_examples:
        result.gaps.append(Gap("total", spec.target_examples - total, total, "warn",
                               f"target of {spec.target_examples} examples"))
    result.gaps.sort(key=lambda g: (g.level != "error", -g.need))
    return result


def _failing_sql(con, spec: CoverageSpec, types: dict[str, str], files: list[Path],
                 wheres: list[str], error) -> ConfigError:
    """Which dimension or filter fails on the data, as a configuration error naming it."""
    import duckdb

    source = duck.source_sql(files, types)
    for what, pointer, sql in _sql_places(spec, wheres):
        try:
            con.execute(f"SELECT count(({sql})) FROM {source}").fetchall()
        except duckdb.Error as exc:
            return ConfigError([Problem(PARAMS_FILE, f"{spec.signature}: {what}: DuckDB fails "
                                        f"on the data: {str(exc).splitlines()[0]}",
                                        pointer=f"$.{pointer}", config=True)])
    return ConfigError([Problem(PARAMS_FILE, f"{spec.signature}: the coverage SQL fails on the "
                                f"data: {str(error).splitlines()[0]}", config=True)])


def _sql_places(spec: CoverageSpec, wheres: list[str]) -> list[tuple[str, str, str]]:
    """(what, key path, SQL) of every dimension and `where` of a signature."""
    places = [(f"dimension {name}", f"coverage.signatures.{spec.signature}.dimensions.{name}",
               d.sql) for name, d in spec.dimensions.items()]
    return places + [(f"where {w!r}", f"coverage.signatures.{spec.signature}.requirements", w)
                     for w in wheres]


def _check_sql(con, spec: CoverageSpec, types: dict[str, str], wheres: list[str]) -> None:
    import duckdb

    empty = duck.empty_sql(types)
    problems = []
    for what, pointer, sql in _sql_places(spec, wheres):
        try:
            con.execute(f"SELECT ({sql}) FROM {empty} LIMIT 0")
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            problems.append(Problem(PARAMS_FILE, f"{spec.signature}: {what}: DuckDB rejects "
                                    f"the SQL: {reason}", pointer=f"$.{pointer}", config=True))
    if problems:
        raise ConfigError(problems)


def _bucket_counts(con, name: str, declared: tuple[str, ...],
                   relation: str = "cov") -> dict[str, int]:
    rows = con.execute(f'SELECT coalesce("d_{name}", \'{NULL_BUCKET}\'), count(*) FROM '
                       f"{relation} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    counts = {bucket: 0 for bucket in declared}
    counts.update(rows)
    return counts


def _diversity(con, loader, signature, files, types, total: int, sample: int,
               counted: str) -> float | None:
    """Share of distinct word trigrams in a fixed-size, id-hashed sample of the examples.

    1.0 means no trigram repeats; templated data scores low. A sample of fixed size keeps
    scores comparable as the data set grows, and hashing ids keeps it stable.
    """
    if not total or not sample:
        return None
    every = max(1, math.ceil(total / sample))
    text = duck.text_sql(loader, signature)
    # Materialized first: DuckDB plans the trigram expansion poorly over a file scan.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE diversity_sample AS
        SELECT list_filter(regexp_split_to_array(lower({text}), '[^[:alnum:]]+'),
                           lambda w: w <> '') AS w
        FROM {duck.source_sql(files, types)}
        WHERE hash(id) % {every} = 0 AND {STATE_SQL} IN ({counted})""")
    value = con.execute("""
        WITH grams AS (
            SELECT unnest(list_transform(range(1, len(w) - 1),
                                         lambda i: w[i] || ' ' || w[i + 1] || ' ' || w[i + 2]))
                   AS g
            FROM diversity_sample WHERE len(w) >= 3)
        SELECT count(DISTINCT g)::DOUBLE / nullif(count(*), 0) FROM grams""").fetchone()[0]
    return round(value, 4) if value is not None else None


def _evaluate(con, req: Requirement, cov: SignatureCoverage, spec: CoverageSpec,
              wheres: list[str]):
    """(passed, actual, detail, gaps) for one requirement."""
    total = cov.examples
    if req.kind == "min_examples":
        need = int(req.value) - total
        gaps = [Gap("total", need, total, req.level, req.label)] if need > 0 else []
        return need <= 0, total, f"{total} examples", gaps
    if req.kind == "synthetic_share":
        synthetic = cov.by_source.get(SYNTHETIC, 0)
        return _share_result(req, synthetic, total, "synthetic", "synthetic",
                             {"source": SYNTHETIC})
    if req.kind == "where" and req.where is not None:
        index = wheres.index(req.where)
        have = con.execute(f"SELECT count(*) FROM cov WHERE w_{index}").fetchone()[0]
        need = int(req.value) - have
        gaps = [Gap("where", need, have, req.level, req.label, where=req.where)] if need > 0 \
            else []
        return need <= 0, have, f"{have} match", gaps
    if req.kind == "grid":
        return _grid_result(con, req, spec)
    dimension = req.dimension  # every other kind is about one dimension
    if dimension is None:
        raise ValueError(f"requirement {req.label} names no dimension")
    counts = cov.dimensions[dimension]
    if req.kind == "bucket_min":
        have = counts.get(str(req.bucket), 0)
        need = int(req.value) - have
        gaps = [Gap("bucket", need, have, req.level, req.label,
                    cell={dimension: str(req.bucket)})] if need > 0 else []
        return need <= 0, have, f"{have} in {dimension} = {req.bucket}", gaps
    if req.kind == "min_distinct":
        present = [b for b, n in counts.items() if n and b != NULL_BUCKET]
        shortfall = int(req.value) - len(present)
        missing = [b for b in spec.dimensions[dimension].buckets if not counts.get(b)]
        gaps = [Gap("bucket", 1, 0, req.level, req.label, cell={dimension: b})
                for b in missing[:max(shortfall, 0)]]
        if shortfall > len(gaps):
            gaps.append(Gap("distinct", shortfall - len(gaps), len(present), req.level,
                            req.label, cell={dimension: "(a new bucket)"}))
        return shortfall <= 0, len(present), f"{len(present)} distinct: " + \
            ", ".join(present), gaps
    # max_share: of one bucket, or of the largest one
    bucket = req.bucket or max(counts, key=lambda b: counts[b], default=None)
    have = counts.get(bucket, 0) if bucket is not None else 0
    return _share_result(req, have, total, f"{dimension} = {bucket}", bucket,
                         {dimension: bucket} if bucket is not None else None)


def _share_result(req: Requirement, have: int, total: int, what: str, bucket, avoid):
    share = have / total if total else 0.0
    passed = share <= req.value + 1e-9
    gaps = []
    if not passed:
        # Examples outside the bucket that bring its share down to the maximum.
        need = math.ceil(have / req.value - total) if req.value else have
        gaps.append(Gap("synthetic" if req.kind == "synthetic_share" else "share", need,
                        total - have, req.level, req.label, avoid=avoid))
    return passed, round(share, 4), f"{what} is {share:.0%} ({have} of {total})", gaps


def _grid_result(con, req: Requirement, spec: CoverageSpec):
    columns = ", ".join(f'coalesce("d_{d}", \'{NULL_BUCKET}\')' for d in req.grid)
    counts = {tuple(row[:-1]): row[-1] for row in con.execute(
        f"SELECT {columns}, count(*) FROM cov GROUP BY ALL").fetchall()}
    axes = []
    for position, name in enumerate(req.grid):
        seen = sorted({cell[position] for cell in counts} - {NULL_BUCKET})
        declared = list(spec.dimensions[name].buckets)
        axes.append(declared + [b for b in seen if b not in declared])
    gaps = []
    for cell in itertools.product(*axes):
        have = counts.get(cell, 0)
        if have < req.value:
            gaps.append(Gap("cell", int(req.value) - have, have, req.level, req.label,
                            cell=dict(zip(req.grid, cell, strict=True))))
    size = math.prod(len(axis) for axis in axes)
    return not gaps, size - len(gaps), f"{size - len(gaps)} of {size} cells filled", gaps
