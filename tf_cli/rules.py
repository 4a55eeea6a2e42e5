"""Named cross-field rules: `schemas/<signature>.rules.json`.

A rule is either a JSON Schema fragment applied to the whole example (`schema`, for
conditions JSON Schema can say, such as "is_complete exactly when nothing is missing"),
or one of a few checks JSON Schema cannot express (`check`: subset, distinct,
permutation, at_most). `when` (a JSON Schema) limits a rule to the examples it matches.
Rules run only on examples that already satisfy the schema, so checks can trust types.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import NamedTuple

import jsonschema_rs

from tf_cli.errors import ConfigError
from tf_cli.problems import Problem, json_path

RULES_FORMAT = {
    "type": "object",
    "required": ["rules"],
    "additionalProperties": False,
    "properties": {
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "description"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    "description": {"type": "string", "minLength": 1},
                    "when": {"type": "object"},
                    "schema": {"type": "object"},
                    "check": {"enum": ["subset", "distinct", "permutation", "at_most"]},
                    "field": {"type": "string"},
                    "of": {"type": "string"},
                    "limit": {"type": "string"},
                    "margin": {"type": "number"},
                },
                "oneOf": [
                    {"required": ["schema"], "not": {"required": ["check"]}},
                    {"required": ["check", "field"], "not": {"required": ["schema"]}},
                ],
                "allOf": [
                    {"if": {"properties": {"check": {"enum": ["subset", "permutation"]}},
                            "required": ["check"]},
                     "then": {"required": ["of"]}},
                    {"if": {"properties": {"check": {"const": "at_most"}}, "required": ["check"]},
                     "then": {"required": ["limit"]}},
                ],
            },
        }
    },
}
_format_validator = jsonschema_rs.Draft202012Validator(RULES_FORMAT)
MAX_RULES = 200  # per signature; real ones have a handful
MAX_FORMAT_ERRORS = 20  # listed for a rules file that does not follow the format
_MISSING = object()


class RuleFailure(NamedTuple):
    pointer: str
    detail: str


class Rule(NamedTuple):
    name: str
    description: str
    check: Callable[[dict], RuleFailure | None]  # None when the example satisfies the rule
    # The top-level fields ("outputs.missing_requirements") the rule reads, its `when`
    # included; empty when they cannot be told (then it can only run on a whole example).
    needs: frozenset[str] = frozenset()
    spec: dict = {}  # the rule as written in the rules file
    when: jsonschema_rs.Validator | None = None

    def applies(self, record: dict) -> bool:
        """Whether the rule's `when` matches (a rule without one always applies)."""
        return self.when is None or self.when.is_valid(record)


def load_rules(loader, signature) -> tuple[Rule, ...]:
    """The compiled rules of a signature (a schemas.Signature without rules yet); a
    signature without a rules file has none."""
    path = loader.project.rules_path(signature.name)
    if not path.is_file():
        return ()
    document = loader.document(path)
    shown = loader.project.display(path)
    listed = document.get("rules") if isinstance(document, dict) else None
    if isinstance(listed, list) and len(listed) > MAX_RULES:
        # every rule runs on every example: a pull request could make one example cost
        # (and report) thousands of checks
        raise ConfigError([Problem(shown, f"{len(listed):,} rules, over the {MAX_RULES} tf "
                                   "runs per signature", pointer="$.rules", config=True)])
    errors = [Problem(shown, f"{e.message} (the rule format is in README.md, \"Rules\")",
                      pointer=json_path(e.instance_path), config=True)
              for e in itertools.islice(_format_validator.iter_errors(document),
                                        MAX_FORMAT_ERRORS)]
    if errors:
        raise ConfigError(errors)
    rules = []
    names: set[str] = set()
    for spec in document["rules"]:
        if spec["name"] in names:
            raise ConfigError([Problem(shown, f'rule name "{spec["name"]}" is used twice',
                                       config=True)])
        names.add(spec["name"])
        if "schema" in spec:
            test = _schema_test(loader.compile(spec["schema"], path))
        else:
            _check_paths(loader, signature, spec, shown)
            test = _CHECKS[spec["check"]](spec)
        when = loader.compile(spec["when"], path) if "when" in spec else None
        if when is not None:
            test = _only_when(when, test)
        rules.append(Rule(spec["name"], spec["description"], test, needs(spec), spec, when))
    return tuple(rules)


def foldable(spec: dict) -> bool:
    """A rule written as a schema (and `when`) with no `$` keyword anywhere: placed inside
    another schema it means exactly what it meant on its own (no reference or $id to
    resolve against a different base)."""
    if "schema" not in spec:
        return False
    stack = [spec["schema"], spec.get("when")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(isinstance(key, str) and key.startswith("$") for key in node):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


_PATH_KEYS = ("field", "of", "limit")
# Keywords whose schemas apply to the same place in the example.
_IN_PLACE = ("if", "then", "else", "not", "allOf", "anyOf", "oneOf", "dependentSchemas")


def needs(spec: dict) -> frozenset[str]:
    """The top-level fields (part.name) a rule reads: its check's paths, and the properties
    its `schema` and `when` name down to that depth. Empty when a schema constrains a
    whole part (then only a whole example can be checked)."""
    found: set[str] = set()
    for key in _PATH_KEYS:
        if key in spec:
            parts = spec[key].split(".")
            if len(parts) < 2:
                return frozenset()
            found.add(".".join(parts[:2]))
    for key in ("schema", "when"):
        if key in spec:
            named = _named(spec[key], ())
            if named is None:
                return frozenset()
            found |= named
    return frozenset(found)


def _named(node, at: tuple) -> set[str] | None:
    """The part.name paths a schema fragment reads at depth 2, or None when it constrains
    something shallower than a field (a part, or the whole example) in another way."""
    if not isinstance(node, dict):
        return None if node is False else set()
    if len(at) == 2:
        return {".".join(at)}
    found: set[str] = set()
    for keyword, value in node.items():
        if keyword == "properties" and isinstance(value, dict):
            for name, inner in value.items():
                named = _named(inner, (*at, name))
                if named is None:
                    return None
                found |= named
        elif keyword == "required" and isinstance(value, list):
            if len(at) != 1:
                return None
            found |= {f"{at[0]}.{name}" for name in value}
        elif keyword in _IN_PLACE:
            inner_nodes = value.values() if isinstance(value, dict) and keyword == \
                "dependentSchemas" else value if isinstance(value, list) else [value]
            for inner in inner_nodes:
                named = _named(inner, at)
                if named is None:
                    return None
                found |= named
        elif keyword not in ("type", "description", "$comment", "title"):
            return None
    return found


# What each check reads: the kind of JSON value every path it names must hold.
_KINDS = {"subset": {"field": "array", "of": "array"}, "distinct": {"field": "array"},
          "permutation": {"field": "array", "of": "array"},
          "at_most": {"field": "number", "limit": "number"}}


def _check_paths(loader, signature, spec: dict, shown: str) -> None:
    """A check on a path the schema does not declare would pass on every example, and one
    comparing strings as numbers would crash: both are errors in the rules file."""
    for key, kind in _KINDS[spec["check"]].items():
        if key not in spec:
            continue
        node = _declared(loader, signature, spec[key])
        declared = node.get("type") if node is not None else None
        types = set(declared) - {"null"} if isinstance(declared, list) else {declared}
        if node is None:
            problem = f'{key} "{spec[key]}" is not declared in the schema\'s properties'
        elif kind == "number" and not types <= {"number", "integer"}:
            problem = f'{key} "{spec[key]}" is {declared or "not typed"}; at_most compares numbers'
        elif kind == "array" and types != {"array"}:
            problem = f'{key} "{spec[key]}" is {declared or "not typed"}, not an array'
        else:
            continue
        raise ConfigError([Problem(shown, f'rule "{spec["name"]}": {problem}', config=True)])


def _declared(loader, signature, dotted: str) -> dict | None:
    """The (resolved) schema of a dotted path such as outputs.missing_requirements."""
    node = signature.schema
    for key in dotted.split("."):
        properties = loader.resolve(node, signature).get("properties")
        if not isinstance(properties, dict) or not isinstance(properties.get(key), dict):
            return None
        node = properties[key]
    return loader.resolve(node, signature)


def _only_when(condition: jsonschema_rs.Validator, test):
    def conditional(record: dict) -> RuleFailure | None:
        return test(record) if condition.is_valid(record) else None

    return conditional


def _schema_test(validator: jsonschema_rs.Validator) -> Callable[[dict], RuleFailure | None]:
    def test(record: dict) -> RuleFailure | None:
        if validator.is_valid(record):
            return None
        error = next(iter(validator.iter_errors(record)))
        return RuleFailure(json_path(error.instance_path), error.message)

    return test


def _getter(dotted: str) -> Callable[[dict], object]:
    """A function reading the dotted path from a record, or _MISSING where it is absent."""
    keys = tuple(dotted.split("."))
    if len(keys) == 2:  # "outputs.field", nearly every rule: no loop (tf validate's hot path)
        first, second = keys

        def get_two(record: dict):
            try:
                return record[first][second]
            except (KeyError, TypeError, IndexError):
                return _MISSING

        return get_two

    def get(record: dict):
        node = record
        try:
            for key in keys:
                node = node[key]
        except (KeyError, TypeError, IndexError):
            return _MISSING
        return node

    return get


def _items(value) -> list | tuple:
    return value if isinstance(value, list) else ()


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def _quote(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _pointer(dotted: str) -> str:
    return json_path(dotted.split("."))


def _subset(spec: dict):
    field, of = spec["field"], spec["of"]
    get_field, get_of = _getter(field), _getter(of)

    def test(record):
        items = get_field(record)
        if not items or type(items) is not list:  # nothing to check (or the schema's to report)
            return None
        listed = _items(get_of(record))
        allowed = None  # normalized only when an exact match fails: the common case is a copy
        for index, item in enumerate(items):
            if item in listed or not isinstance(item, str):
                continue
            if allowed is None:
                allowed = {_normalize(x) for x in listed if isinstance(x, str)}
            if _normalize(item) not in allowed:
                return RuleFailure(f"{_pointer(field)}[{index}]", f"{_quote(item)} is not in {of}")
        return None

    return test


def _distinct(spec: dict):
    field = spec["field"]
    get_field = _getter(field)

    def test(record):
        seen: dict[str, int] = {}
        for index, item in enumerate(_items(get_field(record))):
            key = _normalize(item) if isinstance(item, str) else repr(item)
            if key in seen:
                return RuleFailure(f"{_pointer(field)}[{index}]",
                                   f"repeats item {seen[key]} ({_quote(item)})")
            seen[key] = index
        return None

    return test


def _permutation(spec: dict):
    field, of = spec["field"], spec["of"]
    get_field, get_of = _getter(field), _getter(of)

    def test(record):
        positions = get_field(record)
        size = len(_items(get_of(record)))
        if positions is _MISSING or not isinstance(positions, list):
            return None  # a non-list is the schema's to report
        if sorted(positions) != list(range(1, size + 1)):
            return RuleFailure(_pointer(field), f"{positions} is not an ordering of positions "
                                                f"1..{size} of {of}")
        return None

    return test


def _at_most(spec: dict):
    field, limit, margin = spec["field"], spec["limit"], spec.get("margin", 0)
    get_field, get_limit = _getter(field), _getter(limit)

    def test(record):
        value, bound = get_field(record), get_limit(record)
        if value is _MISSING or bound is _MISSING:
            return None
        if value > bound + margin:
            extra = f" + {margin}" if margin else ""
            return RuleFailure(_pointer(field), f"{value} is more than {limit}{extra} "
                                                f"({bound}{extra})")
        return None

    return test


_CHECKS = {"subset": _subset, "distinct": _distinct, "permutation": _permutation,
           "at_most": _at_most}
