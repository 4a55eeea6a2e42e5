"""The project context: one tf dataset repository, opened once per command or stage.

    schemas/<signature>.schema.json   one JSON Schema per DSPy signature
    schemas/<signature>.rules.json    its named cross-field rules
    datasets/<signature>/*.jsonl      its examples, one JSON object per line
    params.yaml                       settings and coverage requirements

A `Project` owns the paths, params.yaml (read and checked once: `params`, typed as
`settings`, `lm` and `coverage`) and the schema loader (`schemas`, every schema compiled once);
`signature(name)` gives the compiled `Signature`, which carries its rules, its coverage
spec and its files. Core functions take a Project (or a Signature) instead of re-reading
files. Everything is read on first use, so `tf validate` never parses what it does not need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tf_cli.errors import UsageError
from tf_cli.file_safety import read_schema_file, require_real_folders, require_regular
from tf_cli.layout import (
    DATASET_SUFFIX,
    DATASETS_DIR,
    NOT_EXAMPLE_FILES,
    PROMPTS_FILE,
    RETIRED_FILE,
    RULES_SUFFIX,
    SCHEMA_SUFFIX,
    SCHEMAS_DIR,
    SHARED_SCHEMAS,
)

if TYPE_CHECKING:
    from tf_cli.coverage.spec import CoverageSpec
    from tf_cli.lm import LMSettings
    from tf_cli.schemas import SchemaLoader, Signature
    from tf_cli.settings import Settings


@dataclass(frozen=True)
class Project:
    root: Path

    # What params.yaml and schemas/ hold, read on first use and kept for the process: a
    # command or stage sees one version of them. (cached_property writes the instance's
    # __dict__, which a frozen dataclass allows.)
    @cached_property
    def params(self) -> dict:
        """params.yaml as plain data, checked against tf_cli/params.schema.json."""
        from tf_cli.params import load_params

        return load_params(self)

    @cached_property
    def settings(self) -> Settings:
        from tf_cli.settings import Settings

        return Settings.from_params(self.params)

    @cached_property
    def lm(self) -> LMSettings:
        """The lm section with the environment's overrides (TF_LM_*)."""
        from tf_cli import lm

        return lm.settings(self.params)

    @cached_property
    def coverage(self) -> dict[str, CoverageSpec]:
        """Every signature's coverage spec (params.yaml's coverage section, its SQL checked)."""
        from tf_cli.coverage.spec import coverage_specs

        return {spec.signature: spec for spec in coverage_specs(self.params, self)}

    @cached_property
    def schemas(self) -> SchemaLoader:
        from tf_cli.schemas import SchemaLoader

        return SchemaLoader(self)

    def signature(self, name: str) -> Signature:
        """The compiled signature (schema, validator, rules), or ConfigError naming the file."""
        return self.schemas.signature(name)

    @property
    def schemas_dir(self) -> Path:
        return self.root / SCHEMAS_DIR

    @property
    def datasets_dir(self) -> Path:
        return self.root / DATASETS_DIR

    def schema_path(self, signature: str) -> Path:
        return self.schemas_dir / f"{signature}{SCHEMA_SUFFIX}"

    def rules_path(self, signature: str) -> Path:
        return self.schemas_dir / f"{signature}{RULES_SUFFIX}"

    def dataset_dir(self, signature: str) -> Path:
        return self.datasets_dir / signature

    def signatures(self) -> list[str]:
        """Signatures that have a schema, sorted. A schema file without top-level
        `properties` (only `$defs`, say) holds shared definitions, not a signature."""
        if not self.schemas_dir.is_dir():
            return []
        return sorted(p.name[: -len(SCHEMA_SUFFIX)]
                      for p in self.schemas_dir.glob(f"*{SCHEMA_SUFFIX}")
                      if p.name[: -len(SCHEMA_SUFFIX)] not in SHARED_SCHEMAS
                      and not _only_definitions(p))

    def require_signature(self, name: str) -> str:
        """`name` if a schema defines it; otherwise a usage error listing the known ones."""
        if name not in self.signatures():
            raise UsageError(f'unknown signature "{name}"',
                             hint="known signatures: " + ", ".join(self.signatures()))
        return name

    def dataset_signatures(self) -> list[str]:
        """Folder names under datasets/, whether or not a schema exists for them."""
        if not self.datasets_dir.is_dir():
            return []
        return sorted(p.name for p in self.datasets_dir.iterdir() if p.is_dir())

    def dataset_files(self, signature: str) -> list[Path]:
        """The example files of a signature: every *.jsonl but prompts.jsonl (inputs only)
        and retired.jsonl (examples tf prune retired: never counted or trained)."""
        folder = self.dataset_dir(signature)
        require_real_folders(folder)
        if not folder.is_dir():
            return []
        return [require_regular(p) for p in sorted(folder.glob(f"*{DATASET_SUFFIX}"))
                if p.name not in NOT_EXAMPLE_FILES]

    def retired_files(self, signature: str) -> list[Path]:
        """datasets/<sig>/retired.jsonl, if there is one: checked as examples by tf validate."""
        path = self.dataset_dir(signature) / RETIRED_FILE
        return [require_regular(path)] if os.path.lexists(path) else []

    def checked_files(self, signature: str) -> list[Path]:
        """Every file tf validate checks for a signature: examples, retired, prompts."""
        return self.dataset_files(signature) + self.retired_files(signature) + \
            self.prompt_files(signature)

    def prompt_files(self, signature: str) -> list[Path]:
        path = self.dataset_dir(signature) / PROMPTS_FILE
        return [require_regular(path)] if os.path.lexists(path) else []

    def display(self, path: Path) -> str:
        """A path as the user would type it: relative to the working directory when inside it."""
        try:
            return os.path.relpath(path)
        except ValueError:  # another drive on Windows
            return str(path)


def _only_definitions(path: Path) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    return _only_definitions_at(path, stat.st_mtime_ns, stat.st_size)


@cache
def _only_definitions_at(path: Path, mtime_ns: int, size: int) -> bool:
    """Whether the schema declares no properties (read once per version of the file). A
    file that is not a JSON object counts as a signature, so its errors are reported."""
    import orjson

    try:
        document = orjson.loads(read_schema_file(path))
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(document, dict) and "properties" not in document


def find_project(start: Path | None = None) -> Project:
    """The nearest folder at or above `start` that holds a schemas/ folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SCHEMAS_DIR).is_dir():
            if (folder / SCHEMAS_DIR).is_symlink():  # every "local" $ref would follow it
                raise UsageError(f"{folder / SCHEMAS_DIR}: a symbolic link; schemas/ must be a "
                                 "real folder of the repository")
            return Project(folder)
    raise UsageError(
        f"no tf project at {here}: no schemas/ folder here or in any parent",
        hint="run tf inside the dataset repository, or give it before the command: "
             "tf -C DIR validate",
    )
