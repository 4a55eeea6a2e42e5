"""balance: data/<sig>/pool.jsonl -> train.jsonl, dev.jsonl (+ reports/<sig>/balance.json)."""

from stages._run import run, show


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.balance import balance
    from tf_cli.project import find_project

    project = find_project()
    metrics = balance(project, argv[0], project.settings.balance)
    show("balance", argv[0], metrics)


if __name__ == "__main__":
    run(main)
