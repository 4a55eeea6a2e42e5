"""summary: reports/<sig>/*.json of every signature -> summary/summary.md and plot data."""

from stages._run import run


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.summary import summarize
    from tf_cli.project import find_project

    project = find_project()
    print(summarize(project, list(project.settings.pipeline.signatures)))


if __name__ == "__main__":
    run(main)
