"""convert: data/<sig>/train.jsonl, dev.jsonl -> data/<sig>/dspy.json."""

from stages._run import run, show


def main(argv: list[str]) -> None:
    from tf_cli.pipeline.convert import convert
    from tf_cli.project import find_project

    show("convert", argv[0], convert(find_project(), argv[0]))


if __name__ == "__main__":
    run(main)
