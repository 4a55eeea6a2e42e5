"""The interactive questions of `tf add-example`, driven entirely by the signature's schema.

Each field is asked with its description and an example from the schema, in schema order
(inputs, outputs, then metadata), and each answer is checked against the field's own
schema at once; a wrong answer is asked again with the reason. A new signature needs no
new code here.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from tf_cli.schemas import SchemaLoader, Signature

# Metadata tf fills in itself, or that machines write (generation, review, quality).
AUTOMATIC_METADATA = frozenset({"source", "created_at", "provenance", "quality", "review"})
SKIP = object()  # an optional field left empty
TRIPLE_QUOTE = '"""'


class Interview:
    """Asks for one example. `ask(prompt) -> str` reads a line (raises EOFError at the end
    of input); `say(text)` shows text."""

    def __init__(self, loader: SchemaLoader, signature: Signature,
                 ask: Callable[[str], str], say: Callable[[str], None]):
        self.loader, self.signature, self.ask, self.say = loader, signature, ask, say
        self.path = loader.project.schema_path(signature.name)

    def example(self) -> dict:
        record = {"inputs": self.part("inputs"), "outputs": self.part("outputs")}
        metadata_schema = self.loader.resolve(
            self.signature.schema["properties"]["metadata"], self.signature)
        self.say("\n[metadata]")
        record["metadata"] = self.fields(metadata_schema, "metadata", skip=AUTOMATIC_METADATA)
        return record

    def part(self, part: str) -> dict:
        self.say(f"\n[{part}]")
        schema = self.loader.resolve(self.signature.schema["properties"][part], self.signature)
        return self.fields(schema, part)

    def fields(self, schema: dict, prefix: str, skip: frozenset = frozenset()) -> dict:
        required = set(schema.get("required", ()))
        values = {}
        for name, node in schema.get("properties", {}).items():
            if name in skip:
                continue
            value = self.field(f"{prefix}.{name}", node, name in required)
            if value is not SKIP:
                values[name] = value
        return values

    def field(self, label: str, node: dict, required: bool = True):
        """Ask until the answer satisfies the field's schema."""
        node = self.loader.resolve(node, self.signature)
        validator = self.loader.compile(node, self.path)
        self._describe(label, node, required)
        while True:
            value = self._read(label, node, required)
            if value is SKIP:
                return SKIP
            errors = [e.message for e in validator.iter_errors(value)]
            if not errors:
                return value
            self.say(f"  not accepted: {'; '.join(errors)}. Try again.")

    def _describe(self, label: str, node: dict, required: bool) -> None:
        lines = [f"\n{label}" + ("" if required else " (optional: Enter to skip)")]
        if node.get("description"):
            lines.append(f"  {node['description']}")
        examples = node.get("examples")
        if examples:
            lines.append(f"  e.g. {_show(examples[0])}")
        self.say("\n".join(lines))

    def _read(self, label: str, node: dict, required: bool):
        kind = node.get("type")
        if "enum" in node:
            return self._choice(node["enum"], required)
        if kind == "boolean":
            return self._yes_no(required)
        if kind in ("integer", "number"):
            return self._number(node, kind, required)
        if kind == "array":
            return self._list(label, self.loader.resolve(node.get("items", {}), self.signature),
                              required)
        if kind == "object" and node.get("properties"):
            return self.fields(node, label)
        return self._text(required)

    def _text(self, required: bool, prompt: str = "> "):
        first = self.ask(prompt)
        if first.strip() == TRIPLE_QUOTE or first.startswith(TRIPLE_QUOTE):
            lines = [first[len(TRIPLE_QUOTE):]] if first.strip() != TRIPLE_QUOTE else []
            while (line := self.ask("... ")).rstrip() != TRIPLE_QUOTE:
                lines.append(line)
            return "\n".join(lines)
        if not first.strip() and not required:
            return SKIP
        return first.strip()

    def _choice(self, options: list, required: bool):
        self.say("  " + "  ".join(f"{i}) {o}" for i, o in enumerate(options, 1)))
        answer = self.ask("> ").strip()
        if not answer and not required:
            return SKIP
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return options[int(answer) - 1]
        return answer  # checked against the enum by the caller

    def _yes_no(self, required: bool):
        while True:
            answer = self.ask("[y/n] > ").strip().lower()
            if not answer and not required:
                return SKIP
            if answer in ("y", "yes", "true"):
                return True
            if answer in ("n", "no", "false"):
                return False
            self.say("  answer y or n")

    def _number(self, node: dict, kind: str, required: bool):
        low, high = node.get("minimum"), node.get("maximum")
        bounds = f" ({low} to {high})" if low is not None and high is not None else ""
        while True:
            answer = self.ask(f"{kind}{bounds} > ").strip()
            if not answer and not required:
                return SKIP
            try:
                return int(answer) if kind == "integer" else float(answer)
            except ValueError:
                self.say(f"  {answer!r} is not {'an integer' if kind == 'integer' else 'a number'}")

    def _list(self, label: str, items: dict, required: bool):
        self.say("  one item per line; an empty line ends the list")
        values: list = []
        while True:
            prompt = f"{label}[{len(values)}] > "
            if items.get("type") in ("integer", "number"):
                answer = self.ask(prompt).strip()
                if not answer:
                    break
                try:
                    values.append(int(answer) if items["type"] == "integer" else float(answer))
                except ValueError:
                    self.say(f"  {answer!r} is not a number")
                continue
            answer = self._text(False, prompt)
            if answer is SKIP:
                break
            values.append(answer)
        if not values and not required:
            return SKIP
        return values


def _show(value) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def fields_at(pointer: str) -> tuple[str, str] | None:
    """("outputs", "missing_requirements") for "$.outputs.missing_requirements[0]"."""
    parts = pointer.removeprefix("$.").replace("[", ".").split(".")
    return (parts[0], parts[1]) if len(parts) >= 2 and parts[0] in (
        "inputs", "outputs", "metadata") else None
