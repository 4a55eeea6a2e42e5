"""synthesize: fill coverage gaps with generated examples (datasets/<sig>/synthetic.jsonl).

Without a configured LM, or with synthesize.count 0, it says so and leaves the file as it
is, so `dvc repro` works offline. The output persists between runs: generation appends.
"""

from stages._run import run


def main(argv: list[str]) -> None:
    from tf_cli import lm
    from tf_cli.generate import GenerateOptions, generate
    from tf_cli.layout import SYNTHETIC_FILE
    from tf_cli.params import load_params
    from tf_cli.project import find_project

    project = find_project()
    params = load_params(project)
    section = params.get("synthesize") or {}
    out = project.dataset_dir(argv[0]) / SYNTHETIC_FILE
    out.touch()
    if not lm.settings(params).configured or not section.get("count"):
        print(f"synthesize {argv[0]}: skipped (no LM configured, or synthesize.count is 0)")
        return
    options = GenerateOptions(int(section["count"]), int(section.get("batch_size", 5)),
                              bool(section.get("fill_gaps", True)))
    print(generate(project, argv[0], options).to_json())


if __name__ == "__main__":
    run(main)
