"""Signature schemas: load, refuse remote references, check against the metaschema, compile.

The schema is the single source of truth for a signature. This module turns
`schemas/<name>.schema.json` (+ `<name>.rules.json`) into a `Signature` whose validator
is compiled once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import jsonschema_rs
import orjson

from tf_cli.errors import ConfigError
from tf_cli.problems import Problem, json_path
from tf_cli.project import Project

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_REF_KEYWORDS = ("$ref", "$dynamicRef")


@dataclass(frozen=True)
class Signature:
    name: str
    schema: dict
    validator: jsonschema_rs.Validator
    rules: tuple  # tuple[rules.Rule, ...]

    @property
    def instructions(self) -> str:
        return self.schema.get("description", "")

    def fields(self, part: str) -> dict[str, dict]:
        """The field schemas of "inputs" or "outputs", in schema order."""
        return self.schema.get("properties", {}).get(part, {}).get("properties", {})


class SchemaLoader:
    """Loads and compiles schemas of one project; every document is read at most once."""

    def __init__(self, project: Project):
        self.project = project
        self._documents: dict[Path, dict] = {}
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
            self._signatures[key] = Signature(name, schema, self.compile(schema, path), ())
        return self._signatures[key]

    def _error(self, path: Path, message: str, **where) -> ConfigError:
        return ConfigError([Problem(self.project.display(path), message, config=True, **where)])

    def _load_signature(self, name: str) -> Signature:
        from tf_cli.rules import load_rules  # rules compile their fragments through us

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
        return Signature(name, schema, validator,
                         load_rules(self, Signature(name, schema, validator, ())))

    def document(self, path: Path) -> dict:
        """A JSON document from schemas/, checked to be an object with only local references."""
        path = path.resolve()
        if path not in self._documents:
            self._documents[path] = self._read_document(path)
        return self._documents[path]

    def _read_document(self, path: Path) -> dict:
        try:
            document = orjson.loads(path.read_bytes())
        except OSError as exc:
            raise self._error(path, f"cannot read: {exc.strerror}") from None
        except orjson.JSONDecodeError as exc:
            raise self._error(path, f"column {exc.colno}: invalid JSON: {exc.msg}",
                              line=exc.lineno) from None
        if not isinstance(document, dict):
            raise self._error(path, "a schema must be a JSON object")
        problems = list(self._remote_references(document, path))
        if problems:
            raise ConfigError(problems)
        return document

    def _remote_references(self, node, path: Path, at: tuple = ()):
        """Every $ref that points outside schemas/: tf never fetches anything."""
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _REF_KEYWORDS and isinstance(value, str) and not self._is_local(value):
                    yield Problem(
                        self.project.display(path),
                        f'{key} "{value}" points outside schemas/; tf never fetches schemas: '
                        "copy the referenced schema into schemas/ and use a relative $ref",
                        pointer=json_path((*at, key)), config=True)
                else:
                    yield from self._remote_references(value, path, (*at, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                yield from self._remote_references(item, path, (*at, index))

    def _is_local(self, reference: str) -> bool:
        parsed = urlparse(reference)
        if parsed.scheme or parsed.netloc:
            return False
        if not parsed.path:  # "#/$defs/x": inside the same document
            return True
        target = (self.project.schemas_dir / unquote(parsed.path)).resolve()
        return target.is_relative_to(self.project.schemas_dir.resolve())

    def resolve(self, node: dict, signature: Signature, _seen: tuple = ()) -> dict:
        """Follow a local $ref (in the signature's schema or a file in schemas/); sibling
        keywords win over the referenced ones."""
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        if ref in _seen:
            raise self._error(self.project.schema_path(signature.name),
                              f"$ref cycle: {' -> '.join((*_seen, ref))}: a field must end in "
                              "a schema that is not only a reference")
        file_part, _, pointer = ref.partition("#")
        target = self.document(self.project.schemas_dir / file_part) if file_part \
            else signature.schema
        try:
            for key in filter(None, pointer.split("/")):
                target = target[key.replace("~1", "/").replace("~0", "~")]
        except (KeyError, IndexError, TypeError):
            raise self._error(self.project.schema_path(signature.name),
                              f"$ref {ref} points at nothing") from None
        merged = {**self.resolve(target, signature, (*_seen, ref)), **node}
        merged.pop("$ref")
        return merged

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
        except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
            message = getattr(exc, "message", str(exc)).splitlines()[0]
            raise self._error(path, f"cannot resolve a reference: {message}") from None

    def _retrieve(self, uri: str) -> dict:
        """Resolve a $ref to a file in schemas/; anything else is refused, never fetched."""
        parsed = urlparse(uri)
        if parsed.scheme == "file":
            target = Path(unquote(parsed.path)).resolve()
            if target.is_relative_to(self.project.schemas_dir.resolve()) and target.is_file():
                return self.document(target)
        raise ValueError(f"{uri} is not a file in schemas/")

