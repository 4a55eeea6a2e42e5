"""effect: programs/<sig>.json, data/<sig>/dspy.json -> reports/<sig>/effect.json (metrics)
and reports/<sig>/demos.json (per demo and bucket)."""

from stages._run import log_dspy, run, show


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.effect import measure_effect, metrics
    from tf_cli.project import find_project

    project = find_project()
    project.require_signature(argv[0])  # before any file is named after it
    mention_log = log_dspy(project, "effect", argv[0]) if project.lm.configured else None
    detail = measure_effect(project, argv[0], project.settings.effect)
    shown = metrics(detail)
    show("effect", argv[0], {**shown, "evaluated": detail["evaluated"]}
         if detail["evaluated"] else {"evaluated": False, "reason": detail["reason"]})
    if mention_log:
        mention_log()


if __name__ == "__main__":
    run(main)
