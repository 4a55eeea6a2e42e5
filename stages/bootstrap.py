"""bootstrap: a teacher LM labels datasets/<sig>/prompts.jsonl into bootstrap.jsonl.

Without a configured LM it says so and leaves the file as it is; labelled prompts are
skipped, so the persisted output only grows. A run that tried prompts and labelled none
fails (exit 1), naming the rejects file: DVC then records nothing, and the next
`dvc repro` tries again."""

from stages._run import fail_if_nothing_accepted, log_dspy, run, say


def main(argv: list[str]) -> None:
    from tf_cli.bootstrap import bootstrap
    from tf_cli.layout import BOOTSTRAP_FILE
    from tf_cli.project import find_project
    from tf_cli.render.generate import bootstrap_lines

    project = find_project()
    project.require_signature(argv[0])  # before any file is named after it
    out = project.dataset_dir(argv[0]) / BOOTSTRAP_FILE
    out.touch()
    prompts = project.prompt_files(argv[0])
    if not project.lm.configured or not prompts or \
            not prompts[0].stat().st_size:
        say(f"bootstrap {argv[0]}: skipped (no LM configured, or no prompts)")
        return
    mention_log = log_dspy(project, "bootstrap", argv[0])
    summary = bootstrap(project, argv[0])
    for line in bootstrap_lines(summary.to_json(), argv[0]):
        say(f"bootstrap {argv[0]}: {line}")
    mention_log()
    fail_if_nothing_accepted("bootstrap", argv[0], summary.attempted, len(summary.accepted),
                             f"labelled none of the {summary.attempted} prompts it tried",
                             summary.rejects_file)


if __name__ == "__main__":
    run(main)
