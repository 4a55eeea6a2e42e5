"""convert: data/<sig>/train.jsonl, dev.jsonl -> data/<sig>/dspy.json."""

from stages._run import run


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.convert import convert
    from tf_cli.project import find_project

    print(convert(find_project(), argv[0]))


if __name__ == "__main__":
    run(main)
