"""summary: reports/<sig>/*.json of every signature -> summary/summary.md, plot data and
summary/report.html (tf report --html)."""

from stages._run import run, say


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.summary import gather, write_outputs
    from tf_cli.project import find_project
    from tf_cli.render.html import page
    from tf_cli.render.summary import markdown
    from tf_cli.report import build

    project = find_project()
    signatures = list(project.settings.pipeline.signatures)
    summary = gather(project, signatures)
    text = markdown(summary)
    written = write_outputs(project, summary, text, page(build(project, signatures)))
    say(text)
    say(f"summary: {project.display(written)}")


if __name__ == "__main__":
    run(main)
