"""report: reports/<sig>/*.json of every signature -> reports/summary.md and plot data."""

from stages._run import run


def main(argv: list[str]) -> None:
    from tf_cli.params import load_params
    from tf_cli.pipeline.report import summarize
    from tf_cli.project import find_project
    from tf_cli.settings import PipelineSettings, section

    project = find_project()
    pipeline = section(load_params(project), "pipeline", PipelineSettings)
    print(summarize(project, list(pipeline.signatures)))


if __name__ == "__main__":
    run(main)
