"""`tf diff` for people: plain text for a terminal, Markdown for a pull request."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from tf_cli.diff import DataDiff, SignatureDiff
from tf_cli.render.markdown import inline
from tf_cli.words import plural


@dataclass(frozen=True)
class _Style:
    heading: str  # "" for plain text, "##" (or deeper) for Markdown
    bullet: str
    detail: str  # indent of a changed field under its example

    def data(self, value: object) -> str:
        """Text from the repository (ids, fields, values, buckets): in Markdown, kept from
        becoming markup (render.markdown); on a terminal, console.printable escapes it."""
        return inline(value) if self.heading else str(value)

    def title(self, text: str, deeper: int = 0) -> list[str]:
        if not self.heading:
            return [text]
        return [f"{self.heading}{'#' * deeper} {text}"]


PLAIN = _Style("", "  ", "      ")


def text(result: DataDiff) -> str:
    return _render(result, PLAIN)


def markdown(result: DataDiff, level: int = 2) -> str:
    """Markdown whose title is a heading of `level` (signatures one level deeper)."""
    return _render(result, _Style("#" * level, "- ", "  "))


def _render(result: DataDiff, style: _Style) -> str:
    head = result.head[:10] if result.head != "working tree" else result.head
    lines = style.title(f"tf diff {result.base[:10]}..{head}")
    if style.heading:
        lines.append("")
    if result.other_changes:
        lines.append("Also changed: " + ", ".join(style.data(c) for c in result.other_changes))
    changed = [s for s in result.signatures if s.changed or s.requirements]
    if not changed:
        lines.append("No example changed.")
    for entry in changed:
        counts = (f"{entry.examples.get('base', 0)} -> "
                  f"{plural(entry.examples.get('head', 0), 'example')}")
        if entry.pending.get("base") != entry.pending.get("head"):
            counts += (f" (pending review: {entry.pending.get('base', 0)} -> "
                       f"{entry.pending.get('head', 0)})")
        lines += ["", *style.title(f"{entry.signature}: {counts}", deeper=1)]
        lines += _entry(entry, style)
    return "\n".join(lines) + "\n"


def _entry(entry: SignatureDiff, style: _Style) -> list[str]:
    """The lines of one signature: a bullet per change, changed fields indented under it."""
    bullet = style.bullet
    data = style.data
    # "+", "-" and "~" after a Markdown bullet would start a nested list: escaped there
    plus, minus, tilde = (r"\+", r"\-", r"\~") if style.heading else ("+", "-", "~")
    lines = [f"{bullet}{plus} added {data(example_id)}"
             + _state(entry.added_states.get(example_id)) for example_id in entry.added]
    lines += [f"{bullet}{minus} removed {data(example_id)}" for example_id in entry.removed]
    for item in entry.modified:
        lines.append(f"{bullet}{tilde} modified {data(item['id'])}")
        for change in item["changes"]:
            shown = data(change["word_diff"]) if change.get("word_diff") else \
                f"{data(_show(change['old']))} -> {data(_show(change['new']))}"
            lines.append(f"{style.detail}{data(change['field'])}: {shown}")
    for side, count in entry.unreadable.items():
        lines.append(f"{bullet}! {plural(count, 'line')} in {side} {'is' if count == 1 else 'are'} "
                     "no example (not a JSON object with an id), so not compared: tf validate "
                     "names them")
    for side, ids in entry.duplicate_ids.items():
        lines += [f"{bullet}! duplicate id {data(example_id)} in {side} (a merge kept two "
                  "versions: keep one)" for example_id in ids]
    if entry.by_source.get("base") != entry.by_source.get("head"):
        lines.append(f"{bullet}by source: {data(_counts(entry.by_source.get('base')))} -> "
                     f"{data(_counts(entry.by_source.get('head')))}")
    for dimension, moved in entry.coverage.items():
        lines.append(f"{bullet}coverage {data(dimension)}: "
                     + ", ".join(f"{data(b)} {o}->{n}" for b, (o, n) in moved.items()))
    lines += [f"{bullet}{r['level']} requirement \"{data(r['label'])}\": {r['base']} -> "
              f"{r['head']}" for r in entry.requirements]
    return lines


def _state(found: str | None) -> str:
    """How an added example stands, when it does not count yet."""
    if found is None:
        return ""
    return {"pending": " (pending review)", "rejected": " (rejected by a reviewer)"}.get(
        found, f" ({found})")


def _show(value) -> str:
    """A changed value as JSON (tf_cli.diff made every one writable)."""
    return "(absent)" if value is None else orjson.dumps(value).decode()


def _counts(by_source: dict[str, int] | None) -> str:
    """{"synthetic": 2, "manual": 18} as "manual 18, synthetic 2": sources in one order on
    both sides of the arrow ("none" when empty)."""
    return ", ".join(f"{source} {count}"
                     for source, count in sorted((by_source or {}).items())) or "none"
