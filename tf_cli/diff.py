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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tf_cli import git
from tf_cli.layout import DATASET_SUFFIX, DATASETS_DIR, PROMPTS_FILE
from tf_cli.project import Project

JSON_VERSION = 1
LONG = 80  # strings longer than this are shown as a word diff
WATCHED = ("schemas/", "params.yaml", "coverage.yaml", "dvc.yaml")


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
    # Both sides at once: git decompresses and DuckDB scans outside the GIL (2 cores here).
    with ThreadPoolExecutor(max_workers=2) as pool:
        (before, unreadable_before), (after, unreadable_after) = pool.map(
            lambda rev: _examples(git.read_tree(root, rev, DATASETS_DIR)), (base_sha, head_sha))
    names = sorted((set(before) | set(after) | set(unreadable_before) | set(unreadable_after))
                   & set(project.signatures()))
    if only:
        names = [n for n in names if n == project.require_signature(only)]
    result = DataDiff(base_sha, head_sha or "working tree",
                      [p for p in git.changed_paths(root, base_sha, head_sha)
                       if p.startswith(WATCHED)], [])
    for name in names:
        old, new = before.get(name, {}), after.get(name, {})
        unreadable = {"base": unreadable_before.get(name, 0),
                      "head": unreadable_after.get(name, 0)}
        entry = _compare(name, old, new)
        entry.unreadable = {side: count for side, count in unreadable.items() if count}
        _coverage_delta(project, entry, old, new)
        result.signatures.append(entry)
    return result


def _examples(files: dict[str, bytes]) -> tuple[dict[str, dict[str, list[bytes]]],
                                                dict[str, int]]:
    """signature -> id -> the lines holding it (two: a duplicated id); and signature -> how
    many non-blank lines are no example."""
    out: dict[str, dict[bytes, list[bytes]]] = {}
    unreadable: dict[str, int] = {}
    for path, content in files.items():
        parts = path.split("/")
        if len(parts) != 3 or not path.endswith(DATASET_SUFFIX) or parts[2] == PROMPTS_FILE:
            continue
        by_id = out.setdefault(parts[1], {})
        for line in content.splitlines():
            # A canonical line starts with its ULID (keys sorted: "id" first): slice it.
            example_id: bytes | None
            if line[33:35] == b'",' and line[:7] == b'{"id":"':
                example_id = line[7:33]
            else:
                example_id = _id_of(line)
                if example_id is None:
                    if line.strip():
                        unreadable[parts[1]] = unreadable.get(parts[1], 0) + 1
                    continue
            entries = by_id.get(example_id)
            if entries is None:
                by_id[example_id] = [line]
            else:
                entries.append(line)
    examples = {name: {k.decode(): v for k, v in by_id.items()} for name, by_id in out.items()}
    return examples, unreadable


def _id_of(line: bytes) -> bytes | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # tf validate reports it; a diff is about examples
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return record["id"].encode()
    return None


def _compare(name: str, old: dict, new: dict) -> SignatureDiff:
    from tf_cli.counting import COUNTED, state

    entry = SignatureDiff(name)
    entry.added = [i for i in new if i not in old]
    for example_id in entry.added:
        record = orjson.loads(new[example_id][-1])
        found = state(record) if isinstance(record, dict) else COUNTED
        if found != COUNTED:
            entry.added_states[example_id] = found
    entry.removed = [i for i in old if i not in new]
    for example_id, lines in new.items():
        previous = old.get(example_id)
        if previous is not None and lines[-1] != previous[-1]:  # bytes differ: compare fields
            changes = _field_changes(orjson.loads(previous[-1]), orjson.loads(lines[-1]))
            if changes:  # else only the formatting changed
                entry.modified.append({"id": example_id, "changes": changes})
    entry.duplicate_ids = {"base": [i for i, v in old.items() if len(v) > 1],
                           "head": [i for i, v in new.items() if len(v) > 1]}
    entry.examples = {"base": sum(map(len, old.values())),
                      "head": sum(map(len, new.values()))}
    return entry


def _flat(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            out.update(_flat(sub, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


def _field_changes(old: dict, new: dict) -> list[dict]:
    a, b = _flat(old), _flat(new)
    changes = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            change = {"field": key, "old": a.get(key), "new": b.get(key)}
            if isinstance(a.get(key), str) and isinstance(b.get(key), str) and \
                    max(len(a[key]), len(b[key])) > LONG:
                change["word_diff"] = word_diff(a[key], b[key])
            changes.append(change)
    return changes


def word_diff(old: str, new: str) -> str:
    """"... [-removed words-]{+added words+} ...", git diff --word-diff style."""
    a, b = old.split(), new.split()
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


def _coverage_delta(project: Project, entry: SignatureDiff, old: dict, new: dict) -> None:
    from tf_cli.coverage import measure

    # In memory where the system has it: the files are read once, right away.
    scratch = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:

        def side(name_and_examples):
            name, examples = name_and_examples
            path = Path(tmp) / f"{name}.jsonl"
            path.write_bytes(b"\n".join(line for lines in examples.values()
                                         for line in lines) + b"\n")
            return name, measure(project, [entry.signature], files={entry.signature: [path]},
                                 diversity=False)[0]

        with ThreadPoolExecutor(max_workers=2) as pool:
            files = dict(pool.map(side, (("base", old), ("head", new))))
    before, after = files["base"], files["head"]
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
