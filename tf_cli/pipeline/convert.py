"""convert stage: train/dev records -> DSPy examples, checked against the DSPy signature
derived from the schema, written as data/<sig>/dspy.json (format in tf_cli/dspy_io.py)."""

from __future__ import annotations

from tf_cli import dspy_io
from tf_cli.errors import CheckFailed
from tf_cli.layout import DSPY_FILE, data_dir, report_path, split_path
from tf_cli.pipeline import write_json
from tf_cli.project import Project
from tf_cli.records import read_lines


def convert(project: Project, signature_name: str) -> dict:
    loader = project.schemas
    signature = loader.signature(signature_name)
    dspy_io.dspy_signature(loader, signature)  # fails early if the schema cannot map
    folder = data_dir(project, signature_name)
    input_keys = dspy_io.keys(signature, "inputs")
    floats = dspy_io.number_fields(loader, signature)
    splits = {}
    for split in ("train", "dev"):
        flat = [dspy_io.flatten(line.record, signature, floats)
                for line in read_lines(split_path(project, signature_name, split))
                if line.record is not None]
        problems = dspy_io.check_examples(dspy_io.to_examples(flat, input_keys), loader,
                                          signature)
        if problems:
            raise CheckFailed("examples do not fit the DSPy signature:\n" +
                              "\n".join(map(str, problems[:20])))
        splits[split] = flat
    write_json(folder / DSPY_FILE, {
        "signature": signature_name, "instructions": signature.instructions,
        "input_keys": input_keys, "output_keys": dspy_io.keys(signature, "outputs"),
        **splits})
    metrics = {"train": len(splits["train"]), "dev": len(splits["dev"])}
    write_json(report_path(project, signature_name, "convert"), metrics)
    return metrics
