"""optimize: data/<sig>/dspy.json -> programs/<sig>.json (+ reports/<sig>/optimize.json and
scores.json)."""

from stages._run import run, show


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.optimize import optimize, scores
    from tf_cli.project import find_project

    project = find_project()
    report = optimize(project, argv[0], project.settings.optimize)
    show("optimize", argv[0], {"optimizer": report["optimizer"], **scores(report)})


if __name__ == "__main__":
    run(main)
