"""effect stage: what the optimized program's demos, and the coverage buckets they come from,
do for its dev score. An ablation: the program is evaluated on dev as optimized, then once
with each bucket's demos withheld, then once with each demo withheld; the effect of a part
is the score with it minus the score without it, in percent points (positive: it helps).

Every evaluation costs one LM call per dev example (fewer when DSPy's cache answers), so the
runs are planned in that order (the program, buckets, demos) and cut off at
effect.max_lm_calls; what the budget left out is reported as skipped, never guessed.

Writes reports/<sig>/effect.json (numbers only: the DVC metrics file of the step) and
reports/<sig>/demos.json (per demo and per bucket: ids, buckets, scores, flags), which
`tf status`, `tf prune` (harmful N runs in a row) and `tf report` read. With no LM, an empty
dev split or a budget of 0, the demos and their buckets are listed and nothing is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass

from tf_cli import dspy_io, lm
from tf_cli.effect import HARMFUL, LOW_VALUE
from tf_cli.errors import TfError
from tf_cli.layout import DEMOS_REPORT, DSPY_FILE, data_dir, program_path, report_path, split_path
from tf_cli.pipeline import read_json, write_json
from tf_cli.project import Project
from tf_cli.settings import EffectSettings


@dataclass
class _Demo:
    id: str | None  # the training example it is (bootstrapped demos are matched by inputs)
    bootstrapped: bool
    buckets: dict[str, str]


def measure_effect(project: Project, signature_name: str, options: EffectSettings) -> dict:
    from tf_cli.coverage.engine import require_dimensions

    loader = project.schemas
    signature = loader.signature(signature_name)
    dimensions = list(options.dimensions) if options.dimensions is not None \
        else list(signature.coverage.dimensions)
    require_dimensions(project, signature_name, dimensions, ["effect", "dimensions"])
    data = read_json(data_dir(project, signature_name) / DSPY_FILE)
    saved = read_json(program_path(project, signature_name))
    saved_demos = _saved_demos(saved)
    demos = _demos(saved_demos, data, _train_buckets(project, signature_name, dimensions))
    settings = project.lm
    per_evaluation = len(data["dev"])
    report: dict = {"signature": signature_name, "dimensions": dimensions,
                    "dev": per_evaluation, "max_lm_calls": options.max_lm_calls}
    why_not = _why_not(settings.configured, per_evaluation, options.max_lm_calls)
    bucket_rows = _bucket_rows(demos, dimensions)
    demo_rows: list[dict] = [{"id": d.id, "bootstrapped": d.bootstrapped, "buckets": d.buckets,
                  "score_without": None, "effect": None, "flag": None} for d in demos]
    if why_not:
        report.update(evaluated=False, reason=why_not, dev_score_percent=None, lm_calls=0,
                      evaluations=0, skipped=0)
        return _write(project, signature_name, report, bucket_rows, demo_rows)

    import dspy

    dev = dspy_io.to_examples(data["dev"], data["input_keys"])
    program = dspy_io.make_program(dspy_io.dspy_signature(loader, signature),
                                   project.settings.optimize.program)
    program.load_state(saved)
    if [len(p.demos) for p in program.predictors()] != [len(d) for d in saved_demos]:
        raise TfError(f"{project.display(program_path(project, signature_name))}: its "
                      "demos do not fit the program optimize.program describes "
                      f"({project.settings.optimize.program})",
                      hint="run `dvc repro`: the optimize stage writes the program again")
    client = lm.make_lm(settings)
    lm.ensure_reachable(client, settings)
    metric = dspy_io.make_metric(loader, signature, project.settings.optimize.metric)
    adapter = dspy_io.schema_adapter(dspy_io.outputs_schema(loader, signature),
                                     signature_name, client.tf_constraint)
    budget = options.max_lm_calls
    evaluations = skipped = 0

    def score_without(withheld: set[int]) -> float | None:
        """The dev score with the demos at these positions withheld; None past the budget."""
        nonlocal budget, evaluations, skipped
        if budget < per_evaluation:
            skipped += 1
            return None
        budget -= per_evaluation
        evaluations += 1
        variant = program.deepcopy()
        for number, predictor in enumerate(variant.predictors()):
            predictor.demos = [demo for position, demo in enumerate(predictor.demos)
                               if positions[(number, position)] not in withheld]
        with dspy.context(lm=client, **({"adapter": adapter} if adapter else {})):
            evaluate = dspy.Evaluate(devset=dev, metric=metric,
                                     num_threads=settings.num_threads, display_progress=False,
                                     max_errors=len(dev) + 1, provide_traceback=False)
            return _dev_score(evaluate, variant, settings)

    positions: dict[tuple[int, int], int] = {}
    for number, predictor in enumerate(program.predictors()):
        for position in range(len(predictor.demos)):
            positions[(number, position)] = len(positions)
    full = score_without(set())
    for row in bucket_rows:
        without = score_without(set(row.pop("_positions")))
        row.update(score_without=without, effect=_effect(full, without))
    for index, row in enumerate(demo_rows):
        without = score_without({index})
        effect = _effect(full, without)
        row.update(score_without=without, effect=effect, flag=_flag(effect, options))
    report.update(evaluated=True, reason=None, dev_score_percent=full,
                  evaluations=evaluations, skipped=skipped, **lm.usage(client))
    return _write(project, signature_name, report, bucket_rows, demo_rows)


def _why_not(configured: bool, dev: int, max_lm_calls: int) -> str | None:
    """Why nothing can be evaluated, or None."""
    if not configured:
        return "no language model configured"
    if not dev:
        return "the dev split is empty"
    if max_lm_calls < dev:
        return f"effect.max_lm_calls {max_lm_calls} is below one evaluation ({dev} dev examples)"
    return None


def _write(project: Project, signature_name: str, report: dict, bucket_rows: list[dict],
           demo_rows: list[dict]) -> dict:
    for row in bucket_rows:
        row.pop("_positions", None)
        row.setdefault("score_without", None)
        row.setdefault("effect", None)
    detail = {**report, "buckets": bucket_rows, "demos": demo_rows}
    write_json(report_path(project, signature_name, DEMOS_REPORT), detail)
    write_json(report_path(project, signature_name, "effect"), metrics(detail))
    return detail


def metrics(detail: dict) -> dict:
    """effect.json, what `dvc metrics show` lists: numbers (or null) only, one per bucket."""
    return {"dev_score_percent": detail["dev_score_percent"], "lm_calls": detail["lm_calls"],
            "evaluations": detail["evaluations"], "skipped": detail["skipped"],
            "harmful": sum(1 for d in detail["demos"] if d["flag"] == HARMFUL),
            "bucket_effect": {f"{row['dimension']}={row['bucket']}": row["effect"]
                              for row in detail["buckets"]}}


def _effect(full: float | None, without: float | None) -> float | None:
    return None if full is None or without is None else round(full - without, 2)


def _flag(effect: float | None, options: EffectSettings) -> str | None:
    if effect is None:
        return None
    if effect < options.harmful_below:
        return HARMFUL
    return LOW_VALUE if effect < options.low_value_below else None


def _dev_score(evaluate, program, settings) -> float:
    try:
        result = evaluate(program)
    except Exception as exc:  # transport failures surface here first
        raise lm.LMError(f"{settings.model_shown}: evaluation failed: "
                         f"{lm.explain(exc, settings)}", hint="run tf lm check") from None
    return round(float(result.score), 2)


def _train_buckets(project: Project, signature_name: str,
                   dimensions: list[str]) -> dict[str, dict[str, str]]:
    """id -> {dimension: bucket} for every training example, computed by DuckDB from the
    coverage SQL (the same buckets `tf coverage` counts)."""
    from tf_cli.coverage.engine import example_buckets

    path = split_path(project, signature_name, "train")
    if not dimensions or not path.exists() or not path.stat().st_size:
        return {}
    rows = example_buckets(project, signature_name, dimensions, [path],
                           ["effect", "dimensions"])
    return {example_id: dict(zip(dimensions, values, strict=True))
            for example_id, values in rows.items()}


def _saved_demos(saved: dict) -> list[list[dict]]:
    """The demos of each predictor of a saved program (DSPy's save(): a Predict's own state,
    or a module's {predictor name: state}, in the order of its predictors()), read as JSON:
    listing them needs no DSPy."""
    if isinstance(saved.get("demos"), list):
        return [saved["demos"]]
    return [state["demos"] for state in saved.values()
            if isinstance(state, dict) and isinstance(state.get("demos"), list)]


def _demos(per_predictor: list[list[dict]], data: dict,
           buckets: dict[str, dict[str, str]]) -> list[_Demo]:
    """The program's demos in order, each matched to the training example it came from: by
    id, or (a demo DSPy bootstrapped, which carries no id) by its inputs."""
    by_inputs = {_inputs_key(record, data["input_keys"]): record.get("id")
                 for record in data["train"]}
    found = []
    for demos in per_predictor:
        for fields in demos:
            if not isinstance(fields, dict):
                continue
            example_id = fields.get("id") or by_inputs.get(
                _inputs_key(fields, data["input_keys"]))
            found.append(_Demo(example_id, bool(fields.get("augmented")),
                               buckets.get(example_id, {}) if example_id else {}))
    return found


def _inputs_key(fields: dict, input_keys: list[str]) -> str:
    import orjson

    return orjson.dumps([fields.get(k) for k in input_keys], default=str).decode()


def _bucket_rows(demos: list[_Demo], dimensions: list[str]) -> list[dict]:
    """One row per (dimension, bucket) that holds at least one demo, with the positions of
    its demos (withheld together)."""
    rows: dict[tuple[str, str], list[int]] = {}
    for index, demo in enumerate(demos):
        for dimension in dimensions:
            bucket = demo.buckets.get(dimension)
            if bucket is not None:
                rows.setdefault((dimension, bucket), []).append(index)
    return [{"dimension": dimension, "bucket": bucket, "demos": len(positions),
             "_positions": positions}
            for (dimension, bucket), positions in sorted(rows.items())]
