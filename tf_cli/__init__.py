"""tf: DSPy training data managed as code.

The public API is loaded on first use, so `import tf_cli` (and `tf --help`) stays light:
    tf_cli.capture(...)        record an example from a running application
    tf_cli.load_examples(...)  the converted train/dev split as dspy.Example records
    tf_cli.load_program(...)   the optimized program, ready to call (checked=True: its
                               predictions checked against the schema and rules)
    tf_cli.InvalidPrediction   what a checked program raises for a prediction that breaks them
    tf_cli.adapter(...)        the DSPy adapter the optimize stage ran the program with
"""

__all__ = ["InvalidPrediction", "adapter", "capture", "load_examples", "load_program"]


def __getattr__(name: str):
    if name == "capture":
        from tf_cli.capturing import capture

        return capture
    if name in ("adapter", "load_examples", "load_program"):
        from tf_cli import api

        return getattr(api, name)
    if name == "InvalidPrediction":
        from tf_cli.dspy_io import InvalidPrediction

        return InvalidPrediction
    raise AttributeError(f"module 'tf_cli' has no attribute {name!r}")
