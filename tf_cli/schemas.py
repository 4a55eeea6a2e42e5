"""Signature schemas: load, refuse remote references, check against the metaschema, compile.

The schema is the single source of truth for a signature. This module turns
`schemas/<name>.schema.json` (+ `<name>.rules.json`) into a `Signature` whose validator
is compiled once per process.

References resolve as draft 2020-12 says: against the base URI of the resource they sit
in (the file, or the nearest `$id`). A `$ref` is local, and accepted, when it lands in a
file in schemas/ or in a resource whose `$id` a file in schemas/ declares, whatever its
URI scheme (`urn:uuid:...`, `https://...`); anything else would need a fetch and is
refused. tf never fetches a schema.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import jsonschema_rs
import orjson

from tf_cli.errors import ConfigError, UsageError
from tf_cli.file_safety import read_schema_file
from tf_cli.problems import Problem, json_path

if TYPE_CHECKING:
    from tf_cli.coverage.spec import CoverageSpec
    from tf_cli.project import Project

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_SCHEMA_DEPTH = 64  # JSON levels; real schemas stay far below
_REF_KEYWORDS = ("$ref", "$dynamicRef")
# What `SchemaLoader.inline` leaves out: keywords that only serve references.
_REFERENCE_ONLY = frozenset({"$ref", "$id", "$schema", "$anchor", "$dynamicAnchor",
                             "$defs", "definitions", "$comment", "$vocabulary"})
# Keywords whose value is data (copied as it is), and those whose value maps names to
# schemas (the names are not keywords).
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "required",
                            "dependentRequired", "description", "title"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})


@dataclass(frozen=True)
class Signature:
    """One DSPy signature of a project: its compiled schema and rules, where its examples
    live, and what enough of them means (its coverage spec from params.yaml)."""

    name: str
    schema: dict
    validator: jsonschema_rs.Validator
    rules: tuple  # tuple[rules.Rule, ...]
    project: Project | None = field(default=None, compare=False, repr=False)
    # tf validate's fast path: the schema and every rule written as a schema, in one
    # validator (one pass over the example instead of one per rule), and the rules left to
    # check in Python. Only a record that fails either is examined rule by rule.
    validator_with_rules: jsonschema_rs.Validator | None = field(default=None, compare=False,
                                                                 repr=False)
    python_rules: tuple = ()

    @property
    def quick_check(self) -> tuple[jsonschema_rs.Validator, tuple]:
        """(validator, rule checks) that together accept exactly the valid examples."""
        if self.validator_with_rules is None:
            return self.validator, tuple(rule.check for rule in self.rules)
        return self.validator_with_rules, tuple(rule.check for rule in self.python_rules)

    @property
    def instructions(self) -> str:
        return self.schema.get("description", "")

    @property
    def coverage(self) -> CoverageSpec:
        """Its requirements: coverage.defaults merged with coverage.signatures.<name>."""
        return self._project.coverage[self.name]

    @property
    def files(self) -> list[Path]:
        """Its example files (every datasets/<name>/*.jsonl but prompts.jsonl)."""
        return self._project.dataset_files(self.name)

    @property
    def folder(self) -> Path:
        return self._project.dataset_dir(self.name)

    @property
    def _project(self) -> Project:
        if self.project is None:  # only the loader's internal views lack one
            raise TypeError(f"signature {self.name} was built without its project")
        return self.project

    def fields(self, part: str) -> dict[str, dict]:
        """The field schemas of "inputs" or "outputs", in schema order."""
        return self.schema.get("properties", {}).get(part, {}).get("properties", {})


class SchemaLoader:
    """Loads and compiles schemas of one project; every document is read at most once."""

    def __init__(self, project: Project):
        self.project = project
        self._documents: dict[Path, dict] = {}
        self._ids: dict[str, tuple[Path, tuple]] | None = None  # $id -> where (lazily)
        self._signatures: dict[str, Signature] = {}

    def signature(self, name: str) -> Signature:
        """The compiled signature, or ConfigError listing every problem with its files."""
        if name not in self._signatures:
            self._signatures[name] = self._load_signature(name)
        return self._signatures[name]

    def prompt_signature(self, name: str) -> Signature:
        """What one line of prompts.jsonl is: an id and the signature's inputs, no rules."""
        key = f"{name}#prompts"
        if key not in self._signatures:
            full = self.signature(name)
            props = full.schema["properties"]
            schema = {"$schema": DRAFT_2020_12, "type": "object",
                      "required": ["id", "inputs"], "additionalProperties": False,
                      "properties": {"id": props["id"], "inputs": props["inputs"],
                                     "metadata": {"type": "object"}}}
            path = self.project.schema_path(name)
            self._signatures[key] = Signature(name, schema, self.compile(schema, path), (),
                                              self.project)
        return self._signatures[key]

    def _error(self, path: Path, message: str, **where) -> ConfigError:
        return ConfigError([Problem(self.project.display(path), message, config=True, **where)])

    def _load_signature(self, name: str) -> Signature:
        from tf_cli.rules import foldable, load_rules  # rules compile their fragments here

        path = self.project.schema_path(name)
        if not path.is_file():
            raise self._error(path, f'no schema for signature "{name}": add this file')
        schema = self.document(path)
        validator = self.compile(schema, path)
        properties = schema.get("properties")
        missing = [p for p in ("id", "inputs", "outputs", "metadata")
                   if not isinstance(properties, dict) or not isinstance(properties.get(p), dict)]
        if missing:  # every part of tf reads these four
            raise self._error(path, f"a signature's schema must declare properties id, inputs, "
                              f"outputs and metadata; {', '.join(missing)} missing",
                              pointer="$.properties")
        # The rules' field paths are checked against the schema they will read.
        rules = load_rules(self, Signature(name, schema, validator, ()))
        folded = [rule for rule in rules if foldable(rule.spec)]
        return Signature(name, schema, validator, rules, self.project,
                         self._with_rules(path, folded) if folded else None,
                         tuple(rule for rule in rules if rule not in folded))

    def _with_rules(self, path: Path, rules: list) -> jsonschema_rs.Validator:
        """One validator for the schema at `path` and the schemas of `rules`: the schema by
        reference (its own references resolve as before), each rule inline, under a root
        of its own so no rule's properties count as evaluated for the schema's
        unevaluatedProperties."""
        parts = [rule.spec["schema"] if "when" not in rule.spec
                 else {"if": rule.spec["when"], "then": rule.spec["schema"]} for rule in rules]
        combined = {"$schema": DRAFT_2020_12, "allOf": [{"$ref": path.name}, *parts]}
        return self.compile(combined, path.with_name(path.name + "#with-rules"))

    def document(self, path: Path) -> dict:
        """A JSON document from schemas/, checked to be an object with only local references."""
        path = Path(os.path.abspath(path))  # not resolve(): a link is refused, not followed
        if path not in self._documents:
            self._documents[path] = self._read_document(path)
        return self._documents[path]

    def _read_document(self, path: Path) -> dict:
        try:
            document = orjson.loads(read_schema_file(path))
        except OSError as exc:
            raise self._error(path, f"cannot read: {exc.strerror}") from None
        except orjson.JSONDecodeError as exc:
            raise self._error(path, f"column {exc.colno}: invalid JSON: {exc.msg}",
                              line=exc.lineno) from None
        if not isinstance(document, dict):
            raise self._error(path, "a schema must be a JSON object")
        if _depth(document) > MAX_SCHEMA_DEPTH:  # the walks below and the compiler recurse
            raise self._error(path, f"nested more than {MAX_SCHEMA_DEPTH} levels deep: "
                              "flatten it (use $defs and $ref)")
        problems = list(self._remote_references(document, path))
        if problems:
            raise ConfigError(problems)
        return document

    def _remote_references(self, node, path: Path, at: tuple = (), base: str | None = None):
        """Every $ref that would need a fetch: tf never fetches anything."""
        if base is None:
            base = path.resolve().as_uri()
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                base = _join(base, node["$id"])
            for key, value in node.items():
                if key in _REF_KEYWORDS and isinstance(value, str) and \
                        not self._is_local(_join(base, value)):
                    yield Problem(
                        self.project.display(path),
                        f'{key} "{value}" points outside schemas/: no file there, and no '
                        "$id declared there, is that schema; tf never fetches schemas: copy "
                        "it into schemas/ (keeping its $id, if it has one)",
                        pointer=json_path((*at, key)), config=True)
                else:
                    yield from self._remote_references(value, path, (*at, key), base)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                yield from self._remote_references(item, path, (*at, index), base)

    def _is_local(self, target: str) -> bool:
        """Whether an absolute reference lands in a file in schemas/ or a declared $id."""
        resource = urldefrag(target)[0]
        return resource in self._declared_ids() or self._schema_file(resource) is not None

    def _schema_file(self, uri: str) -> Path | None:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            return None
        target = Path(unquote(parsed.path)).resolve()
        folder = self.project.schemas_dir.resolve()
        return target if target.is_relative_to(folder) else None

    def _declared_ids(self) -> dict[str, tuple[Path, tuple]]:
        """Every `$id` the JSON files in schemas/ declare (resolved against its base) ->
        the file and the keys leading to that resource. Read once per loader."""
        if self._ids is None:
            ids: dict[str, tuple[Path, tuple]] = {}
            for path in sorted(self.project.schemas_dir.glob("*.json")):
                try:
                    document = orjson.loads(read_schema_file(path))
                except (OSError, orjson.JSONDecodeError, UsageError):
                    continue  # reported when the file itself is loaded
                _collect_ids(ids, document, path.resolve().as_uri(), path.resolve(), ())
            self._ids = ids
        return self._ids

    def resolve(self, node: dict, signature: Signature, _seen: tuple = (),
                _base: str | None = None) -> dict:
        """Follow a local $ref (see the module docstring); sibling keywords win over the
        referenced ones. `_base` is the base URI `node` sits under (default: the
        signature's own)."""
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        base = _base or self._base_of(signature)
        if isinstance(node.get("$id"), str):
            base = _join(base, node["$id"])
        uri = _join(base, ref)
        seen = (*_seen, (uri, ref))  # (where it lands, as written)
        if uri in {landed for landed, _ in _seen}:
            raise self._error(self.project.schema_path(signature.name),
                              f"$ref cycle: {' -> '.join(r for _, r in seen)}: a field must "
                              "end in a schema that is not only a reference")
        target, target_base = self._lookup(uri, signature)
        merged = {**self.resolve(target, signature, seen, target_base), **node}
        merged.pop("$ref")
        return merged

    def inline(self, node: dict, signature: Signature, budget: int = 20_000,
               data_budget: int = 1_000_000) -> dict:
        """`node` with every $ref replaced by the schema it names, all the way down, and
        the keywords that only serve references ($id, $defs...) left out: the form servers
        that compile a schema into a grammar (llama.cpp) take. References multiply what
        they name, so a small hostile schema could grow without end: one whose expansion
        passes `budget` nodes, or `data_budget` bytes of values (enum, const, default,
        examples...), raises ConfigError."""
        left = [budget, data_budget]
        sizes: dict[int, int] = {}  # id of a data value -> its JSON size, measured once

        def fail():
            raise self._error(self.project.schema_path(signature.name),
                              f"the schema expands past {budget} nodes, {data_budget} bytes "
                              f"of values or {MAX_SCHEMA_DEPTH} levels once its $refs are "
                              "followed")

        def charge(data) -> None:
            if id(data) not in sizes:
                sizes[id(data)] = len(orjson.dumps(data))
            left[1] -= sizes[id(data)]
            if left[1] < 0:
                fail()

        def expand(value, base: str, depth: int, schema_position: bool):
            left[0] -= 1
            if left[0] < 0 or depth > MAX_SCHEMA_DEPTH:
                fail()
            if isinstance(value, list):
                return [expand(item, base, depth + 1, schema_position) for item in value]
            if not isinstance(value, dict):
                return value
            if not schema_position:  # `properties`: names are field names, not keywords
                return {key: expand(sub, base, depth + 1, True) for key, sub in value.items()}
            if isinstance(value.get("$id"), str):
                base = _join(base, value["$id"])
            out: dict = {}
            ref = value.get("$ref")
            if isinstance(ref, str):
                target, target_base = self._lookup(_join(base, ref), signature)
                out.update(expand(target, target_base, depth + 1, True))
            for key, sub in value.items():
                if key in _REFERENCE_ONLY:
                    continue
                if key in _DATA_KEYWORDS:
                    charge(sub)
                    out[key] = sub
                else:
                    out[key] = expand(sub, base, depth + 1, key not in _SCHEMA_MAPS)
            return out

        return expand(node, self._base_of(signature), 0, True)

    def _base_of(self, signature: Signature) -> str:
        base = self.project.schema_path(signature.name).resolve().as_uri()
        declared = signature.schema.get("$id")
        return _join(base, declared) if isinstance(declared, str) else base

    def _lookup(self, uri: str, signature: Signature) -> tuple[dict, str]:
        """The schema an absolute reference names, and the base URI it sits under."""
        resource_uri, fragment = urldefrag(uri)
        if resource_uri == urldefrag(self._base_of(signature))[0]:
            node = signature.schema
        elif resource_uri in self._declared_ids():
            path, keys = self._declared_ids()[resource_uri]
            node = self.document(path)
            for key in keys:
                node = node[key]
        elif (found := self._schema_file(resource_uri)) is not None and found.is_file():
            node = self.document(found)
            if isinstance(node.get("$id"), str):
                resource_uri = _join(resource_uri, node["$id"])
        else:
            raise self._error(self.project.schema_path(signature.name),
                              f"$ref {uri} points at nothing in schemas/")
        base = resource_uri
        if fragment and not fragment.startswith("/"):  # a $anchor
            anchored = _anchor(node, fragment)
            if anchored is None:
                raise self._error(self.project.schema_path(signature.name),
                                  f"$ref {uri}: no $anchor {fragment!r} there")
            return anchored, base
        try:
            for key in filter(None, unquote(fragment).split("/")):
                node = node[key.replace("~1", "/").replace("~0", "~")] if isinstance(node, dict) \
                    else node[int(key)]
                if isinstance(node, dict) and isinstance(node.get("$id"), str):
                    base = _join(base, node["$id"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise self._error(self.project.schema_path(signature.name),
                              f"$ref {uri} points at nothing") from None
        if not isinstance(node, dict):
            raise self._error(self.project.schema_path(signature.name),
                              f"$ref {uri} points at a value, not a schema")
        return node, base

    def compile(self, schema: dict, path: Path) -> jsonschema_rs.Validator:
        """Check `schema` against the draft 2020-12 metaschema and compile it."""
        declared = schema.get("$schema", DRAFT_2020_12)
        if not isinstance(declared, str) or declared.rstrip("#") != DRAFT_2020_12:
            raise self._error(path, f'$schema must be "{DRAFT_2020_12}": tf schemas use '
                              "draft 2020-12", pointer="$.$schema")
        try:
            jsonschema_rs.meta.validate({**schema, "$schema": DRAFT_2020_12})
        except jsonschema_rs.ValidationError as exc:
            raise self._error(path, f"not a valid draft 2020-12 schema: {exc.message}",
                              pointer=json_path(exc.instance_path)) from None
        try:
            return jsonschema_rs.Draft202012Validator(
                schema, validate_formats=True, base_uri=path.resolve().as_uri(),
                retriever=self._retrieve)
        except jsonschema_rs.ValidationError as exc:  # e.g. a pattern no regex engine reads
            raise self._error(path, f"not a valid schema: {exc.message.splitlines()[0]}",
                              pointer=json_path(exc.instance_path)) from None
        except jsonschema_rs.ReferencingError as exc:
            message = str(exc).splitlines()[0]
            raise self._error(path, f"cannot resolve a reference: {message}") from None
        except ValueError as exc:  # e.g. the compiler's own recursion limit
            raise self._error(path, f"cannot compile it: {str(exc).splitlines()[0]}") from None

    def _retrieve(self, uri: str) -> dict:
        """Serve a file in schemas/ or a resource whose $id a file there declares; anything
        else is refused, never fetched."""
        resource = urldefrag(uri)[0]
        if resource in self._declared_ids():
            path, keys = self._declared_ids()[resource]
            node = self.document(path)
            for key in keys:
                node = node[key]
            return node
        found = self._schema_file(resource)
        if found is not None and found.is_file():
            return self.document(found)
        raise ValueError(f"{uri} is not a file in schemas/ nor a $id declared there")



def _collect_ids(ids: dict[str, tuple[Path, tuple]], node, base: str, path: Path,
                 at: tuple) -> None:
    """Add to `ids` every `$id` under `node` (resolved against `base`) -> `path` and the keys
    leading to it."""
    if isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            base = _join(base, node["$id"])
            ids.setdefault(urldefrag(base)[0], (path, at))
        for key, value in node.items():
            if key not in ("const", "enum", "examples", "default"):  # data, not schemas
                _collect_ids(ids, value, base, path, (*at, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _collect_ids(ids, item, base, path, (*at, index))


def _join(base: str, reference: str) -> str:
    """`reference` resolved against `base` (RFC 3986), also for bases such as urn:uuid:...
    that urljoin leaves alone."""
    if urlparse(reference).scheme:
        return reference
    if reference.startswith("#") and urlparse(base).scheme not in ("file", "http", "https"):
        return urldefrag(base)[0] + reference
    return urljoin(base, reference)


def _anchor(node, name: str) -> dict | None:
    """The subschema declaring `"$anchor": name` inside a resource (not inside a nested
    resource with its own $id)."""
    if isinstance(node, dict):
        if node.get("$anchor") == name:
            return node
        for key, value in node.items():
            if isinstance(value, dict) and "$id" in value:
                continue
            if key not in ("const", "enum", "examples", "default"):
                found = _anchor(value, name)
                if found is not None:
                    return found
    elif isinstance(node, list):
        for item in node:
            found = _anchor(item, name)
            if found is not None:
                return found
    return None


def _depth(node) -> int:
    """How deeply a JSON value nests, without recursion (the value may be hostile)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_SCHEMA_DEPTH:  # deeper is enough to know
                children = value.values() if isinstance(value, dict) else value
                stack.extend((child, level + 1) for child in children)
    return deepest
