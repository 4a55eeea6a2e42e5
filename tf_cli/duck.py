"""DuckDB over a signature's JSONL: column types derived from its JSON Schema.

Explicit column types make DuckDB's JSON reader fast and predictable (no sampling, an
absent optional field is NULL) and let SQL in params.yaml be checked before any data is
read. duckdb is imported here only, on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tf_cli.schemas import SchemaLoader, Signature

if TYPE_CHECKING:
    import duckdb

_SCALARS = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}
PARTS = ("id", "inputs", "outputs", "metadata")


def connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    return duckdb.connect()


def columns(loader: SchemaLoader, signature: Signature) -> dict[str, str]:
    """Top-level column name -> DuckDB type, for read_json(columns=...)."""
    props = signature.schema.get("properties", {})
    return {part: _duck_type(loader, props.get(part, {}), signature) for part in PARTS}


def _duck_type(loader: SchemaLoader, node: dict, signature: Signature, depth: int = 0) -> str:
    node = loader.resolve(node, signature)
    if depth > 8:
        return "JSON"
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in node and all(isinstance(v, str) for v in node["enum"]):
        kind = "string"
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array" and isinstance(node.get("items"), dict):
        return _duck_type(loader, node["items"], signature, depth + 1) + "[]"
    if kind == "object" and node.get("properties") and node.get("additionalProperties") is False:
        fields = ", ".join(f'"{name}" {_duck_type(loader, sub, signature, depth + 1)}'
                           for name, sub in node["properties"].items())
        return f"STRUCT({fields})"
    return "JSON"


def text_sql(loader: SchemaLoader, signature: Signature) -> str:
    """SQL concatenating every text field of inputs and outputs, for diversity measures."""
    pieces = []
    for part in ("inputs", "outputs"):
        for name, node in signature.fields(part).items():
            resolved = loader.resolve(node, signature)
            column = f'{part}."{name}"'
            if resolved.get("type") == "string":
                pieces.append(f"coalesce({column}, '')")
            elif resolved.get("type") == "array" and _duck_type(
                    loader, resolved, signature) == "VARCHAR[]":
                pieces.append(f"coalesce(array_to_string({column}, ' '), '')")
    return f"concat_ws(' ', {', '.join(pieces)})" if pieces else "''"


def source_sql(files: list[Path], column_types: dict[str, str]) -> str:
    """A FROM-clause relation over the JSONL files (typed; lines that are no example with
    an id are skipped: tf validate reports them)."""
    if not files:
        nothing = ", ".join(f"NULL::{t} AS {name}" for name, t in column_types.items())
        return f"(SELECT {nothing} WHERE false)"
    listed = ", ".join(_literal(str(f)) for f in files)
    types = ", ".join(f"{_literal(n)}: {_literal(t)}" for n, t in column_types.items())
    # A line DuckDB cannot read (conflict markers, a torn line) becomes a row of NULLs
    # with ignore_errors; without an id it is no example, so it is left out.
    return (f"(SELECT * FROM read_json([{listed}], format = 'newline_delimited', "
            f"columns = {{{types}}}, ignore_errors = true) WHERE id IS NOT NULL)")


def empty_sql(column_types: dict[str, str]) -> str:
    return source_sql([], column_types)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
