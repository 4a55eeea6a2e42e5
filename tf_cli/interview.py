"""The interactive questions of `tf add-example`, driven entirely by the signature's schema
and rules.

Each field is asked with its description and an example from the schema, in schema order
(inputs, outputs, then metadata), and each answer is checked against the field's own
schema at once; a wrong answer is asked again with the reason, in words (a pattern is
described, never shown as a bare regex). Each of the signature's rules is checked as soon
as every field it reads has an answer, and only the field it points at (or one of the
fields it reads, the contributor's choice) is asked again. Where a rule limits a field's
values (`subset`: items copied from another list; `permutation`: positions in another
list), those values are offered as numbered choices. A new signature needs no new code
here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

from tf_cli.rules import Rule
from tf_cli.schemas import SchemaLoader, Signature

# Metadata tf fills in itself, or that machines write (generation, review, quality,
# retirement by tf prune).
AUTOMATIC_METADATA = frozenset({"source", "created_at", "provenance", "quality", "review",
                                "retired"})
PARTS = ("inputs", "outputs", "metadata")
SKIP = object()  # an optional field left empty
TRIPLE_QUOTE = '"""'

# Patterns the shipped schemas use, in words. Any other pattern is explained by the
# field's description and examples.
KNOWN_PATTERNS = {
    "^[a-z][a-z0-9_]*$": "snake_case (lowercase letters, digits and _, starting with a letter)",
    "\\S": "not blank",
    "^[0-9A-HJKMNP-TV-Z]{26}$": "a ULID (26 characters: digits and capital letters but I, "
                                "L, O and U)",
}


class Choices:
    """What a rule lets a list field hold: items picked from another field's list (subset,
    answered with the item or its number) or positions in it (permutation)."""

    def __init__(self, rule: Rule, source: str, options: list, positions: bool):
        self.rule, self.source, self.options, self.positions = rule, source, options, positions

    def intro(self) -> str:
        what = "positions in" if self.positions else "items of"
        how = "a number" if self.positions else "a number, or the text"
        listed = "\n".join(f"    {i}) {_show(o)}" for i, o in enumerate(self.options, 1))
        return (f"  {what} {self.source} (rule {self.rule.name}): {how}; an empty line ends "
                f"the list\n{listed}")

    def pick(self, answer: str):
        """The value an answer stands for, or a str saying what is wrong with it (as a
        `Problem`)."""
        count = len(self.options)
        if answer.isdigit():
            number = int(answer)
            if not 1 <= number <= count:
                return Problem(f"choose 1-{count}")
            return number if self.positions else self.options[number - 1]
        if not self.positions:
            wanted = _normalize(answer)
            for option in self.options:
                if isinstance(option, str) and _normalize(option) == wanted:
                    return option  # the listed text, exactly
        return Problem(f"not in {self.source}: choose 1-{count}")


class Problem(str):
    """An answer that cannot be taken, and why."""


class Interview:
    """Asks for one example. `ask(prompt) -> str` reads a line (raises EOFError at the end
    of input); `say(text)` shows text."""

    def __init__(self, loader: SchemaLoader, signature: Signature,
                 ask: Callable[[str], str], say: Callable[[str], None]):
        self.loader, self.signature, self.ask, self.say = loader, signature, ask, say
        self.path = loader.project.schema_path(signature.name)
        self.record: dict = {}
        self.answered: set[str] = set()
        # The fields the interview asks: "part.name" -> (schema node, required).
        self.asked: dict[str, tuple[dict, bool]] = {}
        for part in PARTS:
            schema = loader.resolve(signature.schema["properties"][part], signature)
            required = set(schema.get("required", ()))
            for name, node in schema.get("properties", {}).items():
                if part == "metadata" and name in AUTOMATIC_METADATA:
                    continue
                self.asked[f"{part}.{name}"] = (node, name in required)

    def example(self) -> dict:
        """A new example (without id, source and created_at), every rule whose fields
        it could answer already checked."""
        self.record = {part: {} for part in PARTS}
        self.answered = set()
        current = None
        for dotted in self.asked:
            part = dotted.split(".")[0]
            if part != current:
                self.say(f"\n[{part}]")
                current = part
            self._answer(dotted)
            self.check_rules()
        return self.record

    def check_rules(self) -> None:
        """Check every rule whose fields all have answers; for a broken one, ask again the
        field it points at (or another it reads), until all of them hold."""
        while True:
            broken = next(((rule, failure) for rule in self.signature.rules
                           if rule.needs and rule.needs <= self.answered
                           and (failure := rule.check(self.record)) is not None), None)
            if broken is None:
                return
            rule, failure = broken
            self.say(f"\n  rule {rule.name}: {failure.detail}\n  (rule: {rule.description})")
            if not self.revise(failure.pointer, rule.needs):
                return  # nothing the interview asks: shown again before saving

    def revise(self, pointer: str, needs: frozenset[str] = frozenset()) -> bool:
        """Ask again for the field at `pointer` (or, when a rule reads several, the one the
        contributor picks); only the item when the pointer names a list item. False when
        the interview asks none of them."""
        pointed = fields_at(pointer)
        target = ".".join(pointed) if pointed else None
        candidates = ([target] if target in self.asked else []) + sorted(
            n for n in needs if n in self.asked and n != target)
        if not candidates:
            return False
        chosen = candidates[0]
        if len(candidates) > 1:
            chosen = self._pick_field(candidates)
        item = _item_index(pointer) if chosen == target else None
        value = self.record[chosen.split(".")[0]].get(chosen.split(".")[1])
        if item is not None and isinstance(value, list) and item < len(value):
            self._answer_item(chosen, value, item)
        else:
            self._answer(chosen)
        return True

    def _pick_field(self, candidates: list[str]) -> str:
        self.say("  Change which answer? " + "  ".join(
            f"{i}) {c}" for i, c in enumerate(candidates, 1)) + "  (Enter: 1)")
        while True:
            answer = self.ask("> ").strip()
            if not answer:
                return candidates[0]
            if answer.isdigit() and 1 <= int(answer) <= len(candidates):
                return candidates[int(answer) - 1]
            if answer in candidates:
                return answer
            self.say(f"  choose 1-{len(candidates)}")

    def _answer(self, dotted: str) -> None:
        part, name = dotted.split(".", 1)
        node, required = self.asked[dotted]
        value = self.field(dotted, node, required, self._choices(dotted))
        if value is SKIP:
            self.record[part].pop(name, None)
        else:
            self.record[part][name] = value
        self.answered.add(dotted)

    def _answer_item(self, dotted: str, value: list, index: int) -> None:
        """Ask again for one item of a list; an empty answer drops it."""
        part, name = dotted.split(".", 1)
        node = self.loader.resolve(self.asked[dotted][0], self.signature)
        items = self.loader.resolve(node.get("items", {}), self.signature)
        choices = self._choices(dotted)
        if choices:
            self.say(choices.intro())
        self.say(f"  now {_show(value[index])}; an empty line drops it")
        others = value[:index] + value[index + 1:]
        answer = self._item(f"{dotted}[{index}]", items, node, choices, others)
        self.record[part][name] = others if answer is SKIP else \
            value[:index] + [answer] + value[index + 1:]

    def _choices(self, dotted: str) -> Choices | None:
        """The values a rule lets this field hold, once the field it copies from has an
        answer and the rule applies to the example so far."""
        for rule in self.signature.rules:
            kind = rule.spec.get("check")
            if kind not in ("subset", "permutation") or rule.spec.get("field") != dotted:
                continue
            if not (rule.needs - {dotted}) <= self.answered or not rule.applies(self.record):
                continue
            part, name = rule.spec["of"].split(".", 1)
            options = self.record.get(part, {}).get(name)
            if isinstance(options, list) and options:
                return Choices(rule, rule.spec["of"], options, kind == "permutation")
        return None

    def field(self, label: str, node: dict, required: bool = True,
              choices: Choices | None = None):
        """Ask until the answer satisfies the field's schema."""
        node = self.loader.resolve(node, self.signature)
        validator = self.loader.compile(node, self.path)
        self._describe(label, node, required)
        while True:
            value = self._read(label, node, required, choices)
            if value is SKIP:
                return SKIP
            errors = [explain(e, value, node) for e in validator.iter_errors(value)]
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

    def _read(self, label: str, node: dict, required: bool, choices: Choices | None):
        kind = node.get("type")
        if "enum" in node:
            return self._choice(node["enum"], required)
        if kind == "boolean":
            return self._yes_no(required)
        if kind in ("integer", "number"):
            return self._number(node, kind, required)
        if kind == "array":
            return self._list(label, node, required, choices)
        if kind == "object" and node.get("properties"):
            return self.fields(node, label)
        return self._text(required)

    def fields(self, schema: dict, prefix: str) -> dict:
        """The fields of a nested object."""
        required = set(schema.get("required", ()))
        values = {}
        for name, node in schema.get("properties", {}).items():
            value = self.field(f"{prefix}.{name}", node, name in required)
            if value is not SKIP:
                values[name] = value
        return values

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
        listed = "  ".join(f"{i}) {_show(o)}" for i, o in enumerate(options, 1))
        self.say("  " + listed)
        while True:
            answer = self.ask("> ").strip()
            if not answer and not required:
                return SKIP
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1]
            named = [o for o in options if isinstance(o, str) and o.lower() == answer.lower()]
            if named:
                return named[0]
            self.say(f"  choose 1-{len(options)}: {listed}")

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

    def _number(self, node: dict, kind: str, required: bool, prompt: str | None = None):
        low, high = node.get("minimum"), node.get("maximum")
        bounds = f" ({low} to {high})" if low is not None and high is not None else ""
        while True:
            answer = self.ask(prompt or f"{kind}{bounds} > ").strip()
            if not answer and not required:
                return SKIP
            try:
                return int(answer) if kind == "integer" else float(answer)
            except ValueError:
                self.say(f"  {answer!r} is not {'an integer' if kind == 'integer' else 'a number'}")

    def _list(self, label: str, node: dict, required: bool, choices: Choices | None):
        items = self.loader.resolve(node.get("items", {}), self.signature)
        if choices:
            self.say(choices.intro())
        else:
            self.say("  one item per line; an empty line ends the list")
        values: list = []
        least = node.get("minItems", 0)
        while True:
            answer = self._item(f"{label}[{len(values)}]", items, node, choices, values)
            if answer is SKIP:
                if len(values) < least and (values or required):
                    self.say(f"  give at least {least} item{'s' if least > 1 else ''}")
                    continue
                break
            values.append(answer)
        if not values and not required:
            return SKIP
        return values

    def _item(self, prompt_label: str, items: dict, node: dict, choices: Choices | None,
              others: list):
        """One item of a list, checked against the items' schema, the rule's choices and
        the other items; SKIP for an empty line."""
        validator = self.loader.compile(items, self.path)
        while True:
            prompt = f"{prompt_label} > "
            if choices or items.get("type") in ("integer", "number"):
                answer = self.ask(prompt).strip()
                if not answer:
                    return SKIP
                if choices:
                    value = choices.pick(answer)
                else:
                    try:
                        value = int(answer) if items["type"] == "integer" else float(answer)
                    except ValueError:
                        value = Problem(f"{answer!r} is not a number")
            else:
                value = self._text(False, prompt)
                if value is SKIP:
                    return SKIP
            if not isinstance(value, Problem):
                errors = [explain(e, value, items, node) for e in validator.iter_errors(value)]
                value = Problem("; ".join(errors)) if errors else value
            if not isinstance(value, Problem) and node.get("uniqueItems") and value in others:
                value = Problem(f"{_show(value)} is already in the list")
            if isinstance(value, Problem):
                self.say(f"  not accepted: {value}. Try again.")
                continue
            return value


def explain(error, value, node: dict, parent: dict | None = None) -> str:
    """A schema error about one answer, in words: a pattern is described (from the table
    of known patterns, else by the field's description), with an example of a good answer."""
    kind = type(error.kind).__name__
    if kind == "MinLength" and value == "":
        return "an answer is needed"
    if kind == "Pattern":
        pattern = node.get("pattern", "")
        if pattern == "\\S":
            return "an answer is needed (not only spaces)"
        described = KNOWN_PATTERNS.get(pattern)
        example = _matching_example(pattern, node, parent)
        like = f", like {example}" if example else ""
        if described:
            return f"{_show_value(value)} is not {described}{like}"
        about = node.get("description") or (parent or {}).get("description")
        return (f"{_show_value(value)} does not have the form this field needs"
                + (f" ({about.rstrip('.')})" if about else "") + like
                + f" (pattern {pattern})")
    if kind == "Enum":
        options = node.get("enum", [])
        return f"choose one of {', '.join(_show(o) for o in options)}"
    return error.message


def _matching_example(pattern: str, node: dict, parent: dict | None) -> str | None:
    """An example from the field's schema (or, for a list item, the list's) that fits.
    Matched by the validator's own regex engine, not Python's `re`: the schema is in git,
    and a pattern such as ^(a+)+$ against a long example backtracks for hours in `re`,
    where the validator's engine gives up at its backtracking limit."""
    import jsonschema_rs

    found = list(node.get("examples", ()))
    for example in (parent or {}).get("examples", ()):
        found += example if isinstance(example, list) else [example]
    try:
        fits = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    except (jsonschema_rs.ValidationError, ValueError):
        return None
    return next((e for e in found if isinstance(e, str) and fits.is_valid(e)), None)


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def _show(value) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _show_value(value) -> str:
    return orjson.dumps(value).decode()


def _item_index(pointer: str) -> int | None:
    """0 for "$.outputs.missing_requirements[0]"; None when no item of a field is named."""
    found = re.match(r"^\$\.[A-Za-z_]\w*\.[A-Za-z_]\w*\[(\d+)\]", pointer or "")
    return int(found.group(1)) if found else None


def fields_at(pointer: str) -> tuple[str, str] | None:
    """("outputs", "missing_requirements") for "$.outputs.missing_requirements[0]"."""
    parts = (pointer or "").removeprefix("$.").replace("[", ".").split(".")
    return (parts[0], parts[1]) if len(parts) >= 2 and parts[0] in PARTS else None
