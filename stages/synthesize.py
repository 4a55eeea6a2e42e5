"""synthesize: fill coverage gaps with generated examples (datasets/<sig>/synthetic.jsonl),
and say what the run did in reports/<sig>/synthesize.json (kept in git).

Without a configured LM, or with synthesize.count 0, it says so (in the report too) and
leaves the file as it is, so `dvc repro` works offline. The output persists between runs:
generation appends. A run that planned examples and accepted none fails (exit 1), naming
the rejects file: DVC then records nothing, and the next `dvc repro` tries again.
"""

from stages._run import fail_if_nothing_accepted, log_dspy, run, say


def main(argv: list[str]) -> None:
    from tf_cli.generate import GenerateOptions, generate
    from tf_cli.layout import SYNTHETIC_FILE, report_path
    from tf_cli.project import find_project
    from tf_cli.records import write_json
    from tf_cli.render.generate import summary_lines

    project = find_project()
    project.require_signature(argv[0])  # before any file is named after it
    settings = project.settings.synthesize
    out = project.dataset_dir(argv[0]) / SYNTHETIC_FILE
    out.touch()
    report = report_path(project, argv[0], "synthesize")  # what the run did, or why not
    skipped = ("no LM is configured (lm.model)" if not project.lm.configured else
               "synthesize.count is 0" if not settings.count else None)
    if skipped:
        write_json(report, {"skipped": skipped})
        say(f"synthesize {argv[0]}: skipped: {skipped}")
        return
    mention_log = log_dspy(project, "synthesize", argv[0])
    options = GenerateOptions(settings.count, settings.batch_size, settings.fill_gaps,
                              step="synthesize")
    summary = generate(project, argv[0], options)
    write_json(report, summary.to_json())
    for line in summary_lines(summary.to_json(), summary.failures, argv[0]):
        say(f"synthesize {argv[0]}: {line}")
    mention_log()
    fail_if_nothing_accepted("synthesize", argv[0], summary.planned, len(summary.accepted),
                             f"accepted none of the {summary.planned} examples it planned",
                             summary.rejects_file)


if __name__ == "__main__":
    run(main)
