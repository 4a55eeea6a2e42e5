"""`tf diff`: what changed in the training data between two revisions, example by example.

Examples are keyed by id, so reordering lines is no change, an edit shows the fields it
changed (long strings as a word diff), and a union merge that kept two versions of one
example shows as a duplicate id. Coverage is measured on both sides with the current
params.yaml, so the delta reads as "how this change moves us against today's
requirements".

JSON form (`--format json`), version 1:
    {"version": 1, "base": sha, "head": sha | "working tree",
     "other_changes": [paths under schemas/, params.yaml, coverage.yaml, dvc.yaml],
     "signatures": [{"signature", "added": [ids], "removed": [ids],
                     "modified": [{"id", "changes": [{"field", "old", "new"}]}],
                     "duplicate_ids": {"base": [ids], "head": [ids]},
                     "examples": {"base": n, "head": n} (examples that count),
                     "pending": {"base": n, "head": n} (awaiting review),
                     "added_states": {id: "pending" | "rejected"} (added, not counted),
                     "by_source": {"base": {...}, "head": {...}},
                     "coverage": {dimension: {bucket: [base, head]}} (changed buckets only),
                     "requirements": [{"label", "level", "base", "head"}] (changed state)}]}
"""

from __future__ import annotations

import difflib
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tf_cli import git
from tf_cli.layout import (
    COVERAGE_FILE,
    DATASET_SUFFIX,
    DATASETS_DIR,
    NOT_EXAMPLE_FILES,
    PARAMS_FILE,
    PIPELINE_FILE,
    SCHEMAS_DIR,
)
from tf_cli.project import Project

JSON_VERSION = 1
LONG = 80  # strings longer than this are shown as a word diff
WATCHED = (f"{SCHEMAS_DIR}/", PARAMS_FILE, COVERAGE_FILE, PIPELINE_FILE)


@dataclass
class SignatureDiff:
    signature: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[dict] = field(default_factory=list)
    duplicate_ids: dict[str, list[str]] = field(default_factory=dict)
    examples: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, dict] = field(default_factory=dict)
    coverage: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    requirements: list[dict] = field(default_factory=list)
    # side -> lines that are no example (not a JSON object with a string id), not compared
    unreadable: dict[str, int] = field(default_factory=dict)
    # added id -> its state when it does not count yet: pending (review) or rejected
    added_states: dict[str, str] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)  # side -> awaiting review

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.modified or any(
            self.duplicate_ids.values()) or any(self.unreadable.values()))

    def to_json(self) -> dict:
        return {"signature": self.signature, "added": self.added, "removed": self.removed,
                "modified": self.modified, "duplicate_ids": self.duplicate_ids,
                "examples": self.examples, "by_source": self.by_source,
                "coverage": self.coverage, "requirements": self.requirements,
                "unreadable": self.unreadable, "added_states": self.added_states,
                "pending": self.pending}


@dataclass
class DataDiff:
    base: str
    head: str
    other_changes: list[str]
    signatures: list[SignatureDiff]

    def to_json(self) -> dict:
        return {"version": JSON_VERSION, "base": self.base, "head": self.head,
                "other_changes": self.other_changes,
                "signatures": [s.to_json() for s in self.signatures]}


def diff(project: Project, base: str | None = None, head: str | None = None,
         only: str | None = None) -> DataDiff:
    root = project.root
    base_sha = git.resolve(root, base) if base else git.default_base(root)
    head_sha = git.resolve(root, head) if head else git.WORKTREE
    # Both sides at once: git decompresses outside the GIL (2 cores here).
    with ThreadPoolExecutor(max_workers=2) as pool:
        before, after = pool.map(lambda rev: _Side(git.read_tree(root, rev, DATASETS_DIR)),
                                 (base_sha, head_sha))
    names = sorted((set(before.lines) | set(after.lines)) & set(project.signatures()))
    if only:
        names = [n for n in names if n == project.require_signature(only)]
    result = DataDiff(base_sha, head_sha or "working tree",
                      [p for p in git.changed_paths(root, base_sha, head_sha)
                       if p.startswith(WATCHED)], [])
    for name in names:
        entry, head_lines = _compare(name, before.lines.get(name, []),
                                     after.lines.get(name, []))
        _coverage_delta(project, entry, before.files.get(name, []), head_lines)
        result.signatures.append(entry)
    return result


class _Side:
    """One revision's dataset files: signature -> the raw contents of its example files,
    and -> their lines (prompts.jsonl, inputs only, and retired.jsonl are left out: a
    retired example shows as removed, a restored one as added)."""

    def __init__(self, files: dict[str, bytes]):
        self.files: dict[str, list[bytes]] = {}
        self.lines: dict[str, list[bytes]] = {}
        for path, content in files.items():
            parts = path.split("/")
            if len(parts) != 3 or not path.endswith(DATASET_SUFFIX) or \
                    parts[2] in NOT_EXAMPLE_FILES:
                continue
            self.files.setdefault(parts[1], []).append(content)
            self.lines.setdefault(parts[1], []).extend(content.splitlines())


def _ids(lines: list[bytes]) -> list[bytes | None]:
    """The id of every line (None: no example). A canonical line starts with its ULID
    (keys sorted: "id" first): sliced, not parsed."""
    return [line[7:33] if line[33:35] == b'",' and line[:7] == b'{"id":"' else _id_of(line)
            for line in lines]


def _id_of(line: bytes) -> bytes | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # tf validate reports it; a diff is about examples
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return record["id"].encode()
    return None


def _compare(name: str, old_lines: list[bytes], new_lines: list[bytes]
             ) -> tuple[SignatureDiff, dict[bytes, list[bytes]]]:
    """Example by example; and the head's lines of every id whose lines changed. Lines
    found on both sides (as often) are set aside first, in C: only the ids of the others
    are looked at."""
    from tf_cli.counting import COUNTED, state

    entry = SignatureDiff(name)
    old_ids, new_ids = _ids(old_lines), _ids(new_lines)
    touched = _changed_ids(old_lines, new_lines, old_ids, new_ids)
    old, new = _by_id(old_ids, old_lines, touched), _by_id(new_ids, new_lines, touched)
    entry.added = [i.decode() for i in new if i not in old]
    for example_id in entry.added:
        record = _record(new[example_id.encode()][-1])
        found = state(record) if isinstance(record, dict) else COUNTED
        if found != COUNTED:
            entry.added_states[example_id] = found
    entry.removed = [i.decode() for i in old if i not in new]
    for key, lines in new.items():
        previous = old.get(key)
        if previous is not None and lines[-1] != previous[-1]:  # bytes differ: compare fields
            changes = _field_changes(_record(previous[-1]), _record(lines[-1]))
            if changes:  # else only the formatting changed
                entry.modified.append({"id": key.decode(), "changes": changes})
    entry.duplicate_ids = {side: [i.decode() for i, n in Counter(ids).items()
                                  if n > 1 and i is not None]
                           for side, ids in (("base", old_ids), ("head", new_ids))}
    entry.examples = {"base": len(old_ids) - old_ids.count(None),
                      "head": len(new_ids) - new_ids.count(None)}
    entry.unreadable = {side: n for side, n in (
        ("base", _unreadable(old_ids, old_lines)), ("head", _unreadable(new_ids, new_lines)))
        if n}
    return entry, new


def _changed_ids(old_lines: list[bytes], new_lines: list[bytes], old_ids: list,
                 new_ids: list) -> set[bytes]:
    """The ids of the lines found on one side only (or a different number of times)."""
    old_set, new_set = set(old_lines), set(new_lines)
    if len(old_set) == len(old_lines) and len(new_set) == len(new_lines):  # the usual case
        differ = old_set ^ new_set  # in C: a few lines out of 100,000
        return {i for i in _ids(list(differ)) if i is not None}
    old_count, new_count = Counter(old_lines), Counter(new_lines)  # a line repeats
    return {i for ids, lines in ((old_ids, old_lines), (new_ids, new_lines))
            for i, line in zip(ids, lines, strict=True)
            if i is not None and old_count[line] != new_count[line]}


def _by_id(ids: list[bytes | None], lines: list[bytes],
           wanted: set[bytes]) -> dict[bytes, list[bytes]]:
    """id -> its lines (two or more: a duplicated id), for the wanted ids, in file order."""
    found: dict[bytes, list[bytes]] = {}
    for example_id, line in zip(ids, lines, strict=True):
        if example_id in wanted:
            found.setdefault(example_id, []).append(line)
    return found


def _unreadable(ids: list[bytes | None], lines: list[bytes]) -> int:
    """Lines that are no example and not blank."""
    if None not in ids:  # the usual case, found in C
        return 0
    return sum(1 for i, line in zip(ids, lines, strict=True) if i is None and line.strip())


def _record(line: bytes) -> dict:
    """The example on a line whose id was sliced without parsing (_ids): a line that only
    starts like a canonical one reads as no fields (tf validate names it)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return {}
    return record if isinstance(record, dict) else {}


def _flat(value, prefix: str = "", depth: int = 0) -> dict:
    """Fields by dotted path; past 32 levels (far deeper than any schema) a nested object
    is one value, so a hostile example cannot exhaust the stack."""
    if isinstance(value, dict) and depth < 32:
        out = {}
        for key, sub in value.items():
            out.update(_flat(sub, f"{prefix}.{key}" if prefix else key, depth + 1))
        return out
    return {prefix: value}


def _field_changes(old: dict, new: dict) -> list[dict]:
    a, b = _flat(old), _flat(new)
    changes = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            change = {"field": key, "old": _writable(a.get(key)), "new": _writable(b.get(key))}
            if isinstance(a.get(key), str) and isinstance(b.get(key), str) and \
                    max(len(a[key]), len(b[key])) > LONG:
                change["word_diff"] = word_diff(a[key], b[key])
            changes.append(change)
    return changes


def _writable(value):
    """`value`, or a note where it nests deeper than orjson writes (254 levels): the JSON
    output and the text both show it."""
    if isinstance(value, dict | list):
        try:
            orjson.dumps(value)
        except TypeError:
            return "(nested too deep to show)"
    return value


# SequenceMatcher takes time quadratic in the words it compares: past this many on either
# side of what changed, the changed middle is shown whole (an 80 KB field took minutes).
MAX_DIFFED_WORDS = 2_000


def word_diff(old: str, new: str) -> str:
    """"... [-removed words-]{+added words+} ...", git diff --word-diff style."""
    a, b = old.split(), new.split()
    head = 0  # the words both share at the start and at the end, found in linear time
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    middle_a, middle_b = a[head:len(a) - tail], b[head:len(b) - tail]
    if max(len(middle_a), len(middle_b)) > MAX_DIFFED_WORDS:
        changed = (["[-" + " ".join(middle_a) + "-]"] if middle_a else []) + \
            (["{+" + " ".join(middle_b) + "+}"] if middle_b else [])
        return " ".join([*a[:head], *changed, *a[len(a) - tail:]])
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += a[i1:i2]
        else:
            if i2 > i1:
                out.append("[-" + " ".join(a[i1:i2]) + "-]")
            if j2 > j1:
                out.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(out)


def _coverage_delta(project: Project, entry: SignatureDiff, old: list[bytes],
                    changed: dict[bytes, list[bytes]]) -> None:
    """Coverage of both sides under today's coverage.yaml, from one scan of the base: the
    head is the base with the examples of the changed ids replaced by their head lines."""
    from tf_cli.coverage.engine import measure_change

    # In memory where the system has it: the files are read once, right away.
    scratch = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        base = [Path(tmp) / f"base-{n}.jsonl" for n in range(len(old))]
        for path, content in zip(base, old, strict=True):
            path.write_bytes(content)
        head = Path(tmp) / "head.jsonl"
        head.write_bytes(b"".join(line + b"\n" for lines in changed.values() for line in lines))
        before, after = measure_change(project, entry.signature, base, head,
                                       {i.decode() for i in changed}
                                       | set(entry.removed))
    # What counts (tf_cli.counting), as tf coverage and tf status say; pending apart.
    entry.examples = {"base": before.examples, "head": after.examples}
    entry.pending = {"base": before.pending, "head": after.pending}
    entry.by_source = {"base": before.by_source, "head": after.by_source}
    for dimension, counts in after.dimensions.items():
        old_counts = before.dimensions.get(dimension, {})
        moved = {b: [old_counts.get(b, 0), n] for b, n in counts.items()
                 if old_counts.get(b, 0) != n}
        moved.update({b: [n, 0] for b, n in old_counts.items() if b not in counts and n})
        if moved:
            entry.coverage[dimension] = moved
    old_state = {r.label: r.passed for r in before.requirements}
    entry.requirements = [{"label": r.label, "level": r.level,
                           "base": "pass" if old_state.get(r.label) else "fail",
                           "head": "pass" if r.passed else "fail"}
                          for r in after.requirements if old_state.get(r.label) != r.passed]
