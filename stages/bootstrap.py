"""bootstrap: a teacher LM labels datasets/<sig>/prompts.jsonl into bootstrap.jsonl.

Without a configured LM it says so and leaves the file as it is; labelled prompts are
skipped, so the persisted output only grows."""

from stages._run import run


def main(argv: list[str]) -> None:
    from tf_cli.bootstrap import bootstrap
    from tf_cli.layout import BOOTSTRAP_FILE
    from tf_cli.project import find_project
    from tf_cli.render.generate import bootstrap_lines

    project = find_project()
    out = project.dataset_dir(argv[0]) / BOOTSTRAP_FILE
    out.touch()
    prompts = project.prompt_files(argv[0])
    if not project.lm.configured or not prompts or \
            not prompts[0].stat().st_size:
        print(f"bootstrap {argv[0]}: skipped (no LM configured, or no prompts)")
        return
    for line in bootstrap_lines(bootstrap(project, argv[0]).to_json(), argv[0]):
        print(f"bootstrap {argv[0]}: {line}")


if __name__ == "__main__":
    run(main)
