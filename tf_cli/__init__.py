"""tf: DSPy training data managed as code.

The public API is loaded on first use, so `import tf_cli` (and `tf --help`) stays light.
"""

__all__ = ["capture"]


def __getattr__(name: str):
    if name == "capture":
        from tf_cli.capturing import capture

        return capture
    raise AttributeError(f"module 'tf_cli' has no attribute {name!r}")
