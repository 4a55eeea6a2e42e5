"""params.yaml and coverage.yaml: read with ruamel.yaml, checked against
tf_cli/params.schema.json.

params.yaml holds the settings (lm, optimize, balance, ...); coverage.yaml holds the
coverage requirements, the hand-written part, kept apart so that `dvc exp run -S key=value`
(which rewrites the file it sets a value in, re-flowing comments and lists) never touches
it. Both are read as one document: coverage.yaml's content is params' `coverage` section
(a `coverage:` section in params.yaml itself still works, for projects made before
coverage.yaml; not both).

The schema ships inside tf, not in the repository: these files are something a pull
request can change, and a schema the same pull request could loosen or delete would check
nothing. Every problem names the file, the line and the key path, so a bad key or value is
found without reading the schema.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tf_cli.errors import ConfigError
from tf_cli.layout import COVERAGE_FILE, PARAMS_FILE
from tf_cli.problems import Problem, json_path

if TYPE_CHECKING:
    from tf_cli.project import Project

SCHEMA_PATH = Path(__file__).with_name("params.schema.json")
# params.yaml and coverage.yaml: a few kilobytes in real projects; parsing several megabytes
# of YAML (which a pull request can commit) took minutes
MAX_SETTINGS_BYTES = 1 << 20


def load_params(project: Project) -> dict:
    """params.yaml (with coverage.yaml as its `coverage` section) as plain Python data,
    validated; {} when neither exists. Commands and stages read it once, through
    `Project.params`.

    Read with libyaml (ruamel's C loader, about 10x faster than its round-trip loader,
    which every tf process and pipeline stage paid); the round-trip documents, which know
    each key's line, are read only when there is a problem to locate."""
    sources = _Sources.read(project, round_trip=False)
    problems = _problems(sources)
    if problems:
        located = _Sources.read(project)
        raise ConfigError([located.problem(where, message) for where, message in problems])
    return _plain(sources.combined())


class _Sources:
    """The two files' round-trip documents, and where a key path of the combined document
    is written: which file, which line."""

    def __init__(self, params, coverage):
        self.params, self.coverage = params, coverage  # coverage: None without the file

    @classmethod
    def read(cls, project: Project, round_trip: bool = True) -> _Sources:
        """The two files; with `round_trip`, as documents that know each key's line."""
        params, coverage = (_read_if_there(project, name, round_trip)
                            for name in (PARAMS_FILE, COVERAGE_FILE))
        if coverage is not None and isinstance(params, dict) and "coverage" in params:
            if not round_trip:
                return cls.read(project)  # raises, with the line
            raise ConfigError([Problem(PARAMS_FILE, "a coverage section, and coverage.yaml "
                                       "too: keep the requirements in coverage.yaml only",
                                       line=_line_of(params, ["coverage"]), config=True)])
        return cls(params if params is not None else {}, coverage)

    def combined(self):
        if self.coverage is None:
            return self.params
        return {**self.params, "coverage": self.coverage}

    def locate(self, where: list) -> tuple[str, int | None, list]:
        """(file, line, key path inside that file) of the value at `where` (read with
        round_trip, or the line is None)."""
        if self.coverage is not None and where[:1] == ["coverage"]:
            return COVERAGE_FILE, _line_of(self.coverage, where[1:]), where[1:]
        return PARAMS_FILE, _line_of(self.params, where), where

    def problem(self, where: list, message: str) -> Problem:
        file, line, inner = self.locate(where)
        return Problem(file, message, line=line, pointer=json_path(inner), config=True)


def _read_if_there(project: Project, name: str, round_trip: bool):
    import os

    from tf_cli.file_safety import irregular

    path = project.root / name
    # A link would read (and print, in a message) whatever it points at; a FIFO or a device
    # would hang or read without end: a pull request can commit either.
    kind = irregular(path)
    if kind:
        raise ConfigError([Problem(project.display(path), f"{kind}; {name} must be a "
                                   "regular file of the repository", config=True)])
    if not os.path.lexists(path):
        return None
    document = _read_yaml(path, project, round_trip)
    if not isinstance(document, dict):
        raise ConfigError([Problem(project.display(path), f"the top level is "
                                   f"{_kind_of(document)}; {name} must be a mapping of keys "
                                   "(key: value), or empty", line=1, config=True)])
    return document


def _kind_of(value) -> str:
    return {list: "a list", str: "a string", bool: "true or false"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def coverage_file(project: Project) -> str:
    """Where the coverage requirements are written: coverage.yaml, or params.yaml before it."""
    return COVERAGE_FILE if (project.root / COVERAGE_FILE).exists() else PARAMS_FILE


def problem_at(project: Project, where: list, message: str) -> Problem:
    """A configuration problem about the value at key path `where` of the params (e.g.
    ["coverage", "signatures", "x", "dimensions", "d"]): the file it is in, and the line."""
    try:
        file, line, inner = _Sources.read(project).locate(list(where))
    except (ConfigError, OSError):
        file, line, inner = PARAMS_FILE, None, list(where)
    return Problem(file, message, line=line, pointer=json_path(inner) if inner else None,
                   config=True)


@cache
def _validator():
    import jsonschema_rs
    import orjson

    return jsonschema_rs.Draft202012Validator(orjson.loads(SCHEMA_PATH.read_bytes()))


def _read_yaml(path: Path, project: Project, round_trip: bool):
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from tf_cli.yaml_guard import yaml_hazard

    yaml = YAML(typ="rt" if round_trip else "safe")
    size = path.stat().st_size
    if size > MAX_SETTINGS_BYTES:
        raise ConfigError([Problem(project.display(path), f"{size:,} bytes, over the "
                                   f"{MAX_SETTINGS_BYTES:,}-byte limit for a settings file",
                                   config=True)])
    try:
        text = path.read_text(encoding="utf-8")
        hazard = yaml_hazard(text)
        if hazard:
            raise ConfigError([Problem(project.display(path), hazard[1], line=hazard[0],
                                       config=True)])
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError([Problem(project.display(path), f"invalid YAML: {exc.problem}",
                                   line=line, config=True)]) from None
    except (YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(project.display(path), f"invalid YAML: {exc}",
                                   config=True)]) from None
    except ValueError:  # an integer of more digits than Python converts
        import re

        found = next((run for run in re.finditer(r"\d+", text) if len(run.group()) > 4300),
                     None)  # each run once: \d{4301} rescans every run of 4,300 digits
        raise ConfigError([Problem(project.display(path), "a number in it has more digits "
                                   "than tf reads (4,300): write it as a string",
                                   line=text.count("\n", 0, found.start()) + 1 if found else None,
                                   config=True)]) from None
    return document if document is not None else {}


def _problems(sources: _Sources) -> list[tuple[list, str]]:
    """(key path, message) of every way the params break tf_cli/params.schema.json."""
    problems: list[tuple[list, str]] = []
    for error in _validator().iter_errors(_plain(sources.combined())):
        where = list(error.instance_path)
        message = error.message
        unexpected = getattr(error.kind, "unexpected", None)
        if unexpected and isinstance(unexpected, list):  # point at the stray key itself
            where.append(str(unexpected[0]))
            message = (f'unknown key "{unexpected[0]}" (tf_cli/params.schema.json lists the '
                       "keys tf reads)")
        elif where[-2:-1] == ["requirements"] and type(error.kind).__name__ == "OneOfNotValid":
            found = _requirement_errors(error.instance)
            if found:  # the keys name one kind: that kind's own errors
                problems += [([*where, *inner], found_message)
                             for inner, found_message in found]
                continue
            message = ("not a valid requirement: give a level (error or warn) and exactly one of "
                       f"{', '.join('{' + ', '.join(keys) + '}' for keys, _ in _kinds())} "
                       '(README.md, "Coverage")')
        problems.append((where, message))
    return problems


@cache
def _kinds() -> tuple[tuple[tuple[str, ...], dict], ...]:
    """Each kind of requirement: the keys that name it (its required keys but `level`) and
    its branch of the schema's oneOf."""
    import orjson

    schema = orjson.loads(SCHEMA_PATH.read_bytes())
    branches = schema["$defs"]["rules"]["properties"]["requirements"]["items"]["oneOf"]
    return tuple((tuple(k for k in branch["required"] if k != "level"), branch)
                 for branch in branches)


def _requirement_errors(requirement) -> list[tuple[list, str]]:
    """(key path inside the requirement, message) for every error of a requirement that
    matches no kind, checked against the kind its keys name: the kind all of whose naming
    keys it gives, the one naming the most if several do ({dimension, bucket, max_share}
    is a max_share with a bucket, not a bucket minimum). [] when no kind fits its keys."""
    import jsonschema_rs

    if not isinstance(requirement, dict):
        return []
    named = [(keys, branch) for keys, branch in _kinds() if set(keys) <= set(requirement)]
    if not named:
        return []
    most = max(len(keys) for keys, _ in named)
    best = [(keys, branch) for keys, branch in named if len(keys) == most]
    if len(best) != 1:
        return []
    keys, branch = best[0]
    found = []
    for error in jsonschema_rs.Draft202012Validator(branch).iter_errors(requirement):
        inner = list(error.instance_path)
        unexpected = getattr(error.kind, "unexpected", None)
        if unexpected and isinstance(unexpected, list):
            inner.append(str(unexpected[0]))
            message = (f'unknown key "{unexpected[0]}" for a requirement with '
                       f"{', '.join(keys)} ({branch['title']}: it takes "
                       f"{', '.join(branch['properties'])})")
        else:  # the pointer names the key
            message = error.message if inner else f"{error.message} ({branch['title']})"
        found.append((inner, message))
    return found


def _line_of(document, where: list) -> int | None:
    """The 1-based line of the value at `where` in a ruamel round-trip document."""
    node, line = document, None
    for key in where:
        try:
            position = node.lc.key(key) if isinstance(key, str) else node.lc.item(key)
            line = position[0] + 1
            node = node[key]
        except (AttributeError, KeyError, IndexError, TypeError):
            break
    return line


def _plain(node):
    """ruamel's CommentedMap/CommentedSeq -> dict/list, scalars as plain Python values."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)
