"""DuckDB over a signature's JSONL: column types derived from its JSON Schema.

Explicit column types make DuckDB's JSON reader fast and predictable (no sampling, an
absent optional field is NULL) and let SQL in params.yaml be checked before any data is
read. duckdb is imported here only, on first use. Every connection is a sandbox
(`connect`), SQL from params.yaml must be one expression (`expression_problem`), and the
queries of one command stop at a deadline (`session`): an expression can be short and
still take hours (nested list_transform over large literals).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from tf_cli.schemas import SchemaLoader, Signature

if TYPE_CHECKING:
    import duckdb

    from tf_cli.problems import Problem

MEMORY_LIMIT = "4GB"  # DuckDB's default is 80% of the machine
# Seconds all the queries of one session may take: minutes for data sets of millions of
# examples, far below a CI job's timeout. The environment (yours, not a pull request's)
# can change it.
DEFAULT_QUERY_SECONDS = 600.0
QUERY_SECONDS_VARIABLE = "TF_QUERY_SECONDS"
MAX_SQL_CHARS = 10_000  # one coverage expression; real ones are a few lines
_SCALARS = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}
PARTS = ("id", "inputs", "outputs", "metadata")


def connect(readable: Iterable[Path] = ()) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can read the given files and nothing else.

    SQL in params.yaml comes from pull requests, so every connection is a sandbox: no
    other file, no network, no extension installed or loaded, and a locked configuration
    that SQL cannot unlock."""
    import duckdb

    connection = duckdb.connect(config={"autoinstall_known_extensions": False,
                                        "autoload_known_extensions": False})
    paths = ", ".join(_literal(_absolute(p)) for p in readable)
    connection.execute(f"SET allowed_paths = [{paths}]")
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    return connection


@contextmanager
def session(readable: Iterable[Path] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A sandboxed connection (`connect`) whose queries are interrupted once the session
    has run `TF_QUERY_SECONDS`; any failure after that is reported as the deadline, not
    as the SQL error DuckDB gives an interrupted query. Closed on exit."""
    import duckdb

    from tf_cli.errors import UsageError

    limit = _query_seconds()
    connection = connect(readable)
    done, fired = threading.Event(), threading.Event()

    def watch() -> None:
        if done.wait(limit):
            return
        fired.set()
        while not done.wait(0.05):  # every query from now on: a probe after a failure too
            try:
                connection.interrupt()
            except duckdb.Error:
                return

    watcher = threading.Thread(target=watch, name="tf-query-deadline", daemon=True)
    watcher.start()
    try:
        yield connection
    except duckdb.OutOfMemoryException as exc:
        raise UsageError(f"DuckDB ran out of memory ({MEMORY_LIMIT}) on the data: "
                         f"{str(exc).splitlines()[0]}", hint="a dataset file may hold "
                         "examples far larger than real ones: tf validate names long lines"
                         ) from None
    except Exception:
        if fired.is_set():
            raise UsageError(
                f"the DuckDB queries over the data ran past {limit:g} s and were stopped",
                hint="a dimension's or requirement's SQL in coverage.yaml (or params.yaml), "
                     f"or a --where, may be too costly; {QUERY_SECONDS_VARIABLE}=SECONDS "
                     "allows more time") from None
        raise
    finally:
        done.set()
        watcher.join()
        connection.close()


def _query_seconds() -> float:
    from tf_cli.errors import UsageError

    text = os.environ.get(QUERY_SECONDS_VARIABLE, "")
    if not text:
        return DEFAULT_QUERY_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 1e7:
        raise UsageError(f"{QUERY_SECONDS_VARIABLE}={text!r}: give a number of seconds above 0")
    return seconds


_PARSER_LOCK = threading.Lock()


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    """The connection that parses coverage SQL (never runs it): a sandbox that can read no
    file. One for the process: opening one takes longer than parsing an expression."""
    return connect()


@cache
def expression_problem(sql: str) -> str | None:
    """Why `sql` is not one scalar expression over an example's own fields, or None.

    DuckDB's own parser reads it: one SELECT of one value, no FROM, no subquery (which
    could read another table), no second statement."""
    if len(sql) > MAX_SQL_CHARS:
        return f"longer than {MAX_SQL_CHARS:,} characters"
    with _PARSER_LOCK:  # one connection, used by one thread at a time
        row = _parser().execute("SELECT json_serialize_sql(?)",
                                [f"SELECT ({sql}\n)"]).fetchone()
    try:
        tree = orjson.loads(row[0] if row else "{}")
    except orjson.JSONDecodeError:  # a parse tree deeper than orjson reads
        return "nested too deeply"
    if tree.get("error"):
        message = tree.get("error_message", "syntax error")
        if message.startswith("Only SELECT statements"):  # what follows a ";"
            message = "a second statement"
        return f"not one SQL expression: {message}"
    statements = tree.get("statements") or []
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    if (node.get("type") != "SELECT_NODE" or node.get("from_table", {}).get("type") != "EMPTY"
            or len(node.get("select_list", [])) != 1):
        return "not one SQL expression (a statement, a FROM or a list of values)"
    try:
        return _forbidden(node["select_list"])
    except RecursionError:
        return "nested too deeply"


# Expression kinds that are no value of one example: they read other tables, other rows, or
# every column, or change how many rows there are.
_FORBIDDEN_CLASSES = {"SUBQUERY": "a subquery (SELECT ...)", "WINDOW": "a window function",
                      "STAR": "* or COLUMNS(...)"}
# Functions that read state outside the example, or build data of any size from a number
# (list_sum(range(200000000)) runs for a minute in one value, and lpad('', 2000000000, 'x')
# or printf('%500000000d', 1) allocate gigabytes outside DuckDB's memory limit).
_FORBIDDEN_FUNCTIONS = frozenset({
    "unnest", "unlist", "range", "generate_series", "repeat", "list_resize", "array_resize",
    "lpad", "rpad", "printf", "format", "bar",
    "current_setting", "current_query", "getvariable", "current_schema", "current_schemas",
    "current_database", "current_catalog", "setseed", "nextval", "currval"})


def _forbidden(tree) -> str | None:
    """Why an expression tree is not a value computed from one example's fields."""
    if isinstance(tree, dict):
        kind = _FORBIDDEN_CLASSES.get(str(tree.get("class")))
        if kind:
            return f"{kind} is not allowed: use the example's own fields"
        name = tree.get("function_name")
        if tree.get("class") == "FUNCTION" and isinstance(name, str) and \
                name.lower() in _FORBIDDEN_FUNCTIONS:
            return f"{name}() is not allowed in coverage SQL"
        return next(filter(None, map(_forbidden, tree.values())), None)
    if isinstance(tree, list):
        return next(filter(None, map(_forbidden, tree)), None)
    return None


def _absolute(path: Path) -> str:
    return str(Path(path).absolute())


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


def source_sql(files: list[Path], column_types: dict[str, str],
               with_filename: bool = False) -> str:
    """A FROM-clause relation over the JSONL files (typed; lines that are no example with
    an id are skipped: tf validate reports them); `with_filename` adds the column
    `filename`, the absolute path of each row's file."""
    if not files:
        nothing = ", ".join(f"NULL::{t} AS {name}" for name, t in column_types.items())
        if with_filename:
            nothing += ", NULL::VARCHAR AS filename"
        return f"(SELECT {nothing} WHERE false)"
    listed = ", ".join(_literal(_absolute(f)) for f in files)
    types = ", ".join(f"{_literal(n)}: {_literal(t)}" for n, t in column_types.items())
    # A line DuckDB cannot read (conflict markers, a torn line) becomes a row of NULLs
    # with ignore_errors; without an id it is no example, so it is left out.
    return (f"(SELECT * FROM read_json([{listed}], format = 'newline_delimited', "
            f"columns = {{{types}}}, ignore_errors = true, filename = {with_filename}) "
            "WHERE id IS NOT NULL)")


def unreadable(error: Exception) -> None:
    """Raise what a DuckDB error says about a dataset file rather than about the SQL: a
    line past DuckDB's maximum_object_size (16 MiB, read in 32 MiB buffers) fails the
    whole read, whatever the SQL."""
    import re

    from tf_cli.errors import UsageError

    message = str(error)
    if "maximum_object_size" in message:
        found = re.search(r'reading file "([^"]+)"', message)
        where = os.path.relpath(found.group(1)) if found else "a dataset file"
        raise UsageError(f"{where}: a line too long for DuckDB to read (its "
                         "maximum_object_size), so the file cannot be measured",
                         hint="`tf validate` names it (over --max-line-bytes); shorten or "
                              "remove it") from None


def literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return _literal(text)


def file_literal(path: Path) -> str:
    """The SQL literal of `path` as source_sql names it (its `filename` column)."""
    return _literal(_absolute(path))


def buckets(files: list[Path], column_types: dict[str, str], dimensions: dict[str, str],
            signature: str, located: Callable[[str, str], Problem] | None = None
            ) -> dict[str, tuple]:
    """id -> each dimension's bucket (as text) for every example in `files`. SQL that
    parses but fails on a value is a configuration error naming the dimension that fails;
    `located(dimension, message)` gives it its place in params.yaml."""
    import duckdb

    from tf_cli.errors import ConfigError
    from tf_cli.layout import PARAMS_FILE
    from tf_cli.problems import Problem

    columns = ", ".join(f"CAST(({sql}) AS VARCHAR)" for sql in dimensions.values()) or "NULL"
    source = source_sql(files, column_types)
    with session(files) as connection:
        try:
            rows = connection.execute(f"SELECT id, {columns} FROM {source}").fetchall()
        except duckdb.Error as exc:
            unreadable(exc)
            failing, reason = list(dimensions), str(exc).splitlines()[0]
            for name, sql in dimensions.items():  # which one fails
                try:
                    connection.execute(f"SELECT count(({sql})) FROM {source}").fetchall()
                except duckdb.Error as one:
                    failing, reason = [name], str(one).splitlines()[0]
                    break
            message = (f"{signature}: dimension {', '.join(failing)}: DuckDB fails on the "
                       f"data: {reason}")
            problem = (located(failing[0], message) if located and len(failing) == 1 else
                       Problem(PARAMS_FILE, message, config=True))
            raise ConfigError([problem]) from None
    return {row[0]: tuple(row[1:]) for row in rows}


def empty_sql(column_types: dict[str, str]) -> str:
    return source_sql([], column_types)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
