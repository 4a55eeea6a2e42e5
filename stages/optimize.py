"""optimize: data/<sig>/dspy.json -> programs/<sig>.json (+ reports/<sig>/optimize.json and
scores.json)."""

from stages._run import log_dspy, run, show


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.optimize import optimize, scores
    from tf_cli.project import find_project

    project = find_project()
    project.require_signature(argv[0])  # before any file is named after it
    mention_log = log_dspy(project, "optimize", argv[0]) if project.lm.configured else None
    report = optimize(project, argv[0], project.settings.optimize)
    show("optimize", argv[0], {"optimizer": report["optimizer"], **scores(report)})
    if mention_log:
        mention_log()


if __name__ == "__main__":
    run(main)
