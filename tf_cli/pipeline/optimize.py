"""optimize stage: a DSPy program per signature, compiled by the optimizer in params.yaml.

Records in reports/<sig>/optimize.json: the optimizer actually used and why, the baseline
and optimized dev scores (`*_score_percent`: the metric's mean over dev, 0-100), how many
dev examples each program failed on (`dev_failures`: an answer the adapter could not parse,
or a call that failed; each scores 0), the demos chosen, split into those DSPy bootstrapped
(the teacher's traces that passed the metric) and labelled ones (training examples as they
are), the LM and its settings, requests, tokens, cost and wall time; the numbers of it a DVC
user compares go to reports/<sig>/scores.json too (scores(), the pipeline's metrics file),
and the program to programs/<sig>.json (DVC cache).

A signature below its min_examples gets labeled_fewshot (no LM needed) with the reason,
and switches to the configured optimizer by itself once its data reaches the threshold.
With no LM configured, labeled_fewshot is used and nothing is evaluated. Too few examples
for the chosen optimizer is refused here, with the numbers, before DSPy runs.
"""

from __future__ import annotations

import time

from tf_cli import dspy_io, lm
from tf_cli.errors import CheckFailed, ConfigError
from tf_cli.layout import (
    DSPY_FILE,
    OPTIMIZE_REPORT,
    data_dir,
    program_path,
    report_path,
    scores_path,
)
from tf_cli.pipeline import read_json, write_json
from tf_cli.project import Project
from tf_cli.settings import OptimizeSettings
from tf_cli.words import plural

# The fewest train and dev examples each optimizer can work with here.
MINIMUM_SIZES = {"labeled_fewshot": (1, 0), "bootstrap_fewshot": (1, 1),
                 "bootstrap_random_search": (2, 1), "mipro_v2": (2, 2)}
# The keys of the optimize report in scores.json: numbers only, null where not evaluated.
SCORE_KEYS = ("baseline_score_percent", "optimized_score_percent", "dev_failures", "demos",
              "demos_bootstrapped", "train", "dev", "lm_calls", "cost")


def scores(report: dict) -> dict:
    """The numbers of an optimize report that `dvc metrics diff` compares: the dev scores
    (0-100), dev failures, demos (bootstrapped among them), split sizes, LM calls and
    cost."""
    return {key: report[key] for key in SCORE_KEYS}


def optimize(project: Project, signature_name: str, options: OptimizeSettings) -> dict:
    import dspy

    from tf_cli.coverage.spec import params_problem

    problem = options.problem()
    if problem:
        key, message = problem
        raise ConfigError([params_problem(project, ["optimize", key], f"optimize.{key}: "
                                          f"{message}")])

    loader = project.schemas
    signature = loader.signature(signature_name)
    data = read_json(data_dir(project, signature_name) / DSPY_FILE)
    train = dspy_io.to_examples(data["train"], data["input_keys"])
    dev = dspy_io.to_examples(data["dev"], data["input_keys"])
    settings = project.lm
    spec = signature.coverage
    chosen, reason = _choose(options, settings, len(train) + len(dev), spec.min_examples)
    _check_sizes(chosen, len(train), len(dev), signature_name)
    metric = dspy_io.make_metric(loader, signature, options.metric)
    student = dspy_io.make_program(dspy_io.dspy_signature(loader, signature), options.program)
    report = {"signature": signature_name, "requested_optimizer": options.optimizer,
              "optimizer": chosen, "reason": reason, "program": options.program,
              "train": len(train), "dev": len(dev), "lm": settings.describe()}
    started = time.perf_counter()
    if not settings.configured:
        compiled = dspy.LabeledFewShot(k=options.max_labeled_demos).compile(student,
                                                                            trainset=train)
        report.update(evaluated=False, baseline_score_percent=None,
                      optimized_score_percent=None, dev_failures=None,
                      lm_calls=0, prompt_tokens=0, completion_tokens=0, cost=0.0)
    else:
        client = lm.make_lm(settings)
        lm.ensure_reachable(client, settings)
        adapter = dspy_io.schema_adapter(dspy_io.outputs_schema(loader, signature),
                                         signature_name, client.tf_constraint)
        with dspy.context(lm=client, **({"adapter": adapter} if adapter else {})):
            evaluate = dspy.Evaluate(devset=dev, metric=metric, num_threads=settings.num_threads,
                                     display_progress=False, max_errors=len(dev) + 1,
                                     provide_traceback=False)
            baseline, baseline_failures = _score(evaluate, student, settings)
            compiled = _compile(chosen, options, student, train, dev, metric, settings)
            optimized, optimized_failures = _score(evaluate, compiled, settings)
        report.update(evaluated=bool(dev), baseline_score_percent=baseline,
                      optimized_score_percent=optimized,
                      dev_failures={"baseline": baseline_failures,
                                    "optimized": optimized_failures} if dev else None,
                      structured_output=client.tf_constraint.describe(), **lm.usage(client))
    demos = [demo for predictor in compiled.predictors() for demo in predictor.demos]
    # DSPy marks the demos it bootstrapped (a teacher's trace that passed the metric) with
    # augmented=True; the others are training examples copied as they are.
    bootstrapped = sum(1 for demo in demos if demo.get("augmented"))
    report.update(demos=len(demos), demos_bootstrapped=bootstrapped,
                  demos_labelled=len(demos) - bootstrapped,
                  demos_chosen=[d.get("id") for d in demos if d.get("id")],
                  # tenths: a report in git should not change with the machine's mood
                  wall_time_s=round(time.perf_counter() - started, 1))
    path = program_path(project, signature_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    compiled.save(str(path))
    write_json(report_path(project, signature_name, OPTIMIZE_REPORT), report)
    write_json(scores_path(project, signature_name), scores(report))
    return report


def _choose(options: OptimizeSettings, settings, examples: int, min_examples: int):
    if not settings.configured:
        return "labeled_fewshot", "no language model configured (lm.model or TF_LM_MODEL)"
    if examples < min_examples:
        return "labeled_fewshot", (f"{plural(examples, 'example')}, below min_examples "
                                   f"{min_examples}: {options.optimizer} starts when the "
                                   "data reaches it")
    return options.optimizer, None


def _check_sizes(optimizer: str, train: int, dev: int, signature: str) -> None:
    need_train, need_dev = MINIMUM_SIZES[optimizer]
    if train < need_train or dev < need_dev:
        raise CheckFailed(f"{signature}: {optimizer} needs at least {need_train} train and "
                          f"{need_dev} dev examples; the split has {train} and {dev}",
                          hint="add examples, lower balance.dev_fraction, or choose "
                               "optimize.optimizer: labeled_fewshot")


def _score(evaluate, program, settings) -> tuple[float | None, int | None]:
    """The program's dev score (percent) and the dev examples it failed on: DSPy's Evaluate
    scores a prediction that raised (an unparsed answer, a failed call) 0, with an empty
    prediction in its place."""
    if not evaluate.devset:
        return None, None
    try:
        result = evaluate(program)
    except Exception as exc:  # transport failures surface here first
        raise lm.LMError(f"{settings.model_shown}: evaluation failed: "
                         f"{lm.explain(exc, settings)}",
                         hint="run tf lm check") from None
    failures = sum(1 for _, prediction, _ in result.results if not prediction.keys())
    return round(float(result.score), 2), failures


def _compile(chosen: str, options: OptimizeSettings, student, train, dev, metric, settings):
    import dspy

    if chosen == "labeled_fewshot":
        return dspy.LabeledFewShot(k=options.max_labeled_demos).compile(student, trainset=train)
    if chosen == "bootstrap_fewshot":
        optimizer = dspy.BootstrapFewShot(
            metric=metric, max_bootstrapped_demos=options.max_bootstrapped_demos,
            max_labeled_demos=options.max_labeled_demos)
        return optimizer.compile(student, trainset=train)
    if chosen == "bootstrap_random_search":
        optimizer = dspy.BootstrapFewShotWithRandomSearch(
            metric=metric, max_bootstrapped_demos=options.max_bootstrapped_demos,
            max_labeled_demos=options.max_labeled_demos,
            num_candidate_programs=options.num_candidates or 4,
            num_threads=settings.num_threads)
        return optimizer.compile(student, trainset=train, valset=dev)
    manual = options.auto is None
    optimizer = dspy.MIPROv2(
        metric=metric, auto=options.auto, seed=options.seed,
        num_candidates=options.num_candidates if manual else None,
        max_bootstrapped_demos=options.max_bootstrapped_demos,
        max_labeled_demos=options.max_labeled_demos, num_threads=settings.num_threads,
        verbose=False)
    minibatch_size = min(35, len(dev))
    return optimizer.compile(
        student, trainset=train, valset=dev,
        num_trials=options.num_trials if manual else None,
        minibatch=len(dev) > minibatch_size, minibatch_size=max(1, minibatch_size),
        requires_permission_to_run=False)

