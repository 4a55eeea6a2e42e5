"""summary: reports/<sig>/*.json of every signature -> summary/summary.md, plot data and
summary/report.html (tf report --html)."""

from stages._run import run


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.summary import summarize, write_html_report
    from tf_cli.project import find_project

    project = find_project()
    signatures = list(project.settings.pipeline.signatures)
    print(summarize(project, signatures))
    print(f"summary: {project.display(write_html_report(project, signatures))}")


if __name__ == "__main__":
    run(main)
