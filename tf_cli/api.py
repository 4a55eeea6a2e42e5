"""Loading the pipeline's results in DSPy code.

    import tf_cli
    trainset = tf_cli.load_examples("validate_completeness", split="train")
    program = tf_cli.load_program("validate_completeness")
    with dspy.context(lm=dspy.LM("openai/gpt-4o-mini")):
        print(program(implementation="...", requirements=["..."]).is_complete)
"""

from __future__ import annotations

import os
from pathlib import Path

from tf_cli.errors import TfError, UsageError

SPLITS = ("train", "dev", "all")


def _project(project: str | os.PathLike | None, signature: str):
    """The project, once `signature` is known to it (a usage error listing the known ones,
    as every command gives)."""
    from tf_cli.project import find_project

    found = find_project(Path(project) if project else None)
    found.require_signature(signature)
    return found


def load_examples(signature: str, split: str = "train", *,
                  project: str | os.PathLike | None = None) -> list:
    """The converted split as list[dspy.Example], inputs marked (run `dvc repro` first)."""
    from tf_cli import dspy_io
    from tf_cli.layout import DSPY_FILE, data_dir
    from tf_cli.pipeline import read_json

    if split not in SPLITS:
        raise UsageError(f'split "{split}" is not one of {", ".join(SPLITS)}')
    path = data_dir(_project(project, signature), signature) / DSPY_FILE
    if not path.exists():
        raise TfError(f"{path} does not exist", hint="run `dvc repro` (or `make repro`)")
    data = read_json(path)
    records = data["train"] + data["dev"] if split == "all" else data[split]
    return dspy_io.to_examples(records, data["input_keys"])


def load_program(signature: str, *, project: str | os.PathLike | None = None,
                 checked: bool = False):
    """The optimized program: rebuilt from the schema-derived signature, state loaded.

    With `checked=True`, every prediction is checked against the signature's schema and
    rules as an example would be: one that breaks them raises
    `tf_cli.InvalidPrediction` (its `.problems` say how, its `.prediction` is what the
    program answered), which dspy.Evaluate counts as a failure."""
    from tf_cli import dspy_io
    from tf_cli.layout import program_path

    found = _project(project, signature)
    path = program_path(found, signature)
    if not path.exists():
        raise TfError(f"{path} does not exist", hint="run `dvc repro` (or `make repro`)")
    program = dspy_io.make_program(
        dspy_io.dspy_signature(found.schemas, found.signature(signature)),
        found.settings.optimize.program)
    program.load(str(path))
    return dspy_io.checked(program, found.signature(signature)) if checked else program


def adapter(signature: str, *, project: str | os.PathLike | None = None):
    """The DSPy adapter the optimize stage ran the program with when the model took a
    response format (lm.structured_output): DSPy's JSONAdapter with the signature's outputs
    schema as the response format. Run the loaded program under it to send the prompts it
    was optimized with: `with dspy.context(lm=..., adapter=tf_cli.adapter(name))`."""
    from tf_cli import dspy_io
    from tf_cli.structured import Constraint

    found = _project(project, signature)
    compiled = found.signature(signature)
    return dspy_io.schema_adapter(dspy_io.outputs_schema(found.schemas, compiled),
                                  signature, Constraint("json_schema"))
