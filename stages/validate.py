"""validate: datasets/<sig>/*.jsonl -> data/<sig>/pool.jsonl, rejects.jsonl."""

from stages._run import run, show


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.validate import PoolOptions, build_pool
    from tf_cli.project import find_project

    project = find_project()
    show("validate", argv[0],
         build_pool(project, argv[0], PoolOptions.from_settings(project.settings)))


if __name__ == "__main__":
    run(main)
