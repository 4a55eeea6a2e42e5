"""DVC stage entry points: `python -m stages.<step> <signature>` (see dvc.yaml)."""
