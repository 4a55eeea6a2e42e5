"""Merging dataset files by example id, and checking merges made without that.

`merge(base, ours, theirs)` is a three-way merge of three versions of one JSONL file,
keyed by each example's "id" instead of by line position. Per id:

    unchanged on one side          -> the other side's version (a deletion included)
    the same change on both sides  -> that change
    deleted on one side, edited on the other, edited differently on both sides, or added
    on both sides with different content -> a conflict naming the id

New examples from both sides are all kept: ours in their order, then theirs'. A line that
is not a JSON object with a string id (or repeats an id already seen on its side) is an
opaque byte string: kept when a side has it, unless the other side deleted it. Records
come out in canonical form. `tf merge-driver` runs this as Git's merge driver.

`check_merge(root, revision)` finds what a line-based (union) merge got wrong: examples
deleted on one side that came back, and ids that appear twice. `tf check-merge` runs it
in CI, for merges made where the driver does not run (GitHub's merge button).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tf_cli import git
from tf_cli.errors import UsageError
from tf_cli.layout import DATASET_SUFFIX, DATASETS_DIR
from tf_cli.records import BOM, canonical_bytes, parse_line

DEFAULT_MARKER_SIZE = 7

# What a conflict is, in the words of the conflict marker ("here" is ours) and of the
# message on stderr.
_MARKER_TEXT = {
    "delete/edit": "deleted here, edited on theirs",
    "edit/delete": "edited here, deleted on theirs",
    "edit/edit": "edited differently on both sides",
    "add/add": "added on both sides with different content",
}
_MESSAGE_TEXT = {
    "delete/edit": "deleted on ours, edited on theirs",
    "edit/delete": "edited on ours, deleted on theirs",
    "edit/edit": "edited differently on ours and theirs",
    "add/add": "added on ours and on theirs with different content",
}


@dataclass(frozen=True)
class Conflict:
    id: str
    kind: str  # one of _MARKER_TEXT's keys

    @property
    def marker_text(self) -> str:
        return _MARKER_TEXT[self.kind]

    def message(self, path: str) -> str:
        return (f"{path}: conflict on id {self.id}: {_MESSAGE_TEXT[self.kind]}; the file has "
                "conflict markers: keep one side (or neither), then `git add` it")


@dataclass
class MergeResult:
    lines: list[bytes] = field(default_factory=list)  # each ending in "\n"
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def content(self) -> bytes:
        return b"".join(self.lines)


# A key is ("id", id) for a record, ("raw", bytes, n) for the n-th copy of an opaque line.
# A value is what is compared and written: canonical bytes, or the opaque line itself.
_Key = tuple
_Side = dict  # _Key -> bytes, in the side's line order


def split_lines(data: bytes) -> list[bytes]:
    """The lines of a file's content, without their "\\n" (a missing last one is fine)."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def parse_record(body: bytes) -> dict | None:
    """The record of a line if it is a JSON object with a string id that reads back
    exactly (no key given twice, no number rounded); None for anything else."""
    record = parse_line(0, body, terminated=True).record
    return record if record is not None and type(record.get("id")) is str else None


def _side(lines: list[bytes]) -> _Side:
    entries: _Side = {}
    copies: Counter = Counter()
    for body in lines:
        record = parse_record(body.removesuffix(b"\r"))
        key = None if record is None else ("id", record["id"])
        if record is not None and key is not None and key not in entries:
            entries[key] = canonical_bytes(record)
            continue
        copies[body] += 1
        entries[("raw", body, copies[body])] = body
    return entries


def merge(base: list[bytes], ours: list[bytes], theirs: list[bytes],
          marker_size: int = DEFAULT_MARKER_SIZE) -> MergeResult:
    """Three-way merge of the lines of three versions of a dataset file, keyed by id."""
    b, o, t = _side(base), _side(ours), _side(theirs)
    result = MergeResult()

    def emit(key: _Key) -> None:
        mine, other, old = o.get(key), t.get(key), b.get(key)
        if mine == other or other == old:
            chosen = mine
        elif mine == old:
            chosen = other
        else:
            kind = ("add/add" if old is None else "delete/edit" if mine is None
                    else "edit/delete" if other is None else "edit/edit")
            conflict = Conflict(key[1], kind)
            result.conflicts.append(conflict)
            result.lines.append(b"<" * marker_size
                                + f" ours (id {conflict.id}: {conflict.marker_text})\n".encode())
            if mine is not None:
                result.lines.append(mine + b"\n")
            result.lines.append(b"=" * marker_size + b"\n")
            if other is not None:
                result.lines.append(other + b"\n")
            result.lines.append(b">" * marker_size + b" theirs\n")
            return
        if chosen is not None:
            result.lines.append(chosen + b"\n")

    # Lines theirs has and ours does not, keyed by the nearest line before them in theirs
    # that ours has: an example ours deleted but theirs edited shows up where it was.
    after: dict[_Key | None, list[_Key]] = {}
    new_in_theirs: list[_Key] = []
    anchor = None
    for key in t:
        if key in o:
            anchor = key
        elif key in b:
            after.setdefault(anchor, []).append(key)
        else:
            new_in_theirs.append(key)
    for key in after.get(None, []):
        emit(key)
    for key in o:
        emit(key)
        for moved in after.get(key, []):
            emit(moved)
    for key in new_in_theirs:
        emit(key)
    return result


def merge_files(base: Path, ours: Path, theirs: Path,
                marker_size: int = DEFAULT_MARKER_SIZE) -> MergeResult:
    """`merge` on three files, as Git's merge driver gets them (%O, %A, %B)."""
    contents = []
    for path in (base, ours, theirs):
        try:
            contents.append(split_lines(path.read_bytes()))
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return merge(contents[0], contents[1], contents[2], marker_size=marker_size)


# --- tf check-merge -------------------------------------------------------------------

FETCH_HINT = ("fetch the whole history: actions/checkout with `fetch-depth: 0`, or "
              "`git fetch --unshallow`")


@dataclass
class MergeCheck:
    revision: str
    parents: list[str] = field(default_factory=list)  # short shas; fewer than 2: no merge
    problems: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


def _ids(content: bytes | None) -> list[str]:
    """The ids of a file's records, in order, repeats included."""
    ids = []
    for body in split_lines(content or b""):
        record = parse_record(body.removesuffix(b"\r"))
        if record is not None:
            ids.append(record["id"])
    return ids


def _dataset_files(root: Path, revision: str) -> dict[str, bytes]:
    return {path: data for path, data in git.read_tree(root, revision, DATASETS_DIR).items()
            if path.endswith(DATASET_SUFFIX)}


def check_merge(root: Path, revision: str = "HEAD") -> MergeCheck:
    """Deleted examples that came back in merge commit `revision`, and repeated ids."""
    if git.try_run(root, "rev-parse", "--git-dir") is None:
        raise UsageError(f"{root} is not a Git repository")
    commit = (git.try_run(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
              or "").strip()
    if not commit:
        raise UsageError(f"unknown revision {revision!r}", hint=FETCH_HINT
                         if _is_shallow(root) else "give a commit, branch or tag")
    parents = git.run(root, "show", "-s", "--format=%P", commit).split()
    check = MergeCheck(revision, [_short(root, p) for p in parents])
    if len(parents) < 2:
        if _is_shallow(root) and commit in _shallow_commits(root):
            raise UsageError(f"the parents of {revision} are not in this clone (shallow "
                             "history), so it cannot tell whether it is a merge",
                             hint=FETCH_HINT)
        return check
    base = git.try_run(root, "merge-base", *(["--octopus"] if len(parents) > 2 else []), *parents)
    if not base:
        why = ("the history is shallow" if _is_shallow(root)
               else "the parents share no history, or part of it is missing")
        raise UsageError(f"no merge base for the parents of {revision}: {why}", hint=FETCH_HINT)
    merged = _dataset_files(root, commit)
    before = _dataset_files(root, base.split()[0])
    sides = [_dataset_files(root, parent) for parent in parents]
    check.files = len(merged)
    for path in sorted(merged):
        ids = _ids(merged[path])
        base_ids = set(_ids(before.get(path)))
        side_ids = [set(_ids(side.get(path))) for side in sides]
        for id_ in dict.fromkeys(ids):  # in file order, once each
            if id_ not in base_ids:
                continue
            deleting = [check.parents[i] for i, seen in enumerate(side_ids) if id_ not in seen]
            if deleting:
                check.problems.append(
                    f"{path}: id {id_} was deleted in {' and '.join(deleting)} and came back "
                    "in this merge: remove the line again, or re-add it in its own commit if "
                    "it should stay")
        for id_, count in Counter(ids).items():
            if count > 1:
                check.problems.append(
                    f"{path}: id {id_} appears {count} times in this merge: keep one version")
    return check


def _short(root: Path, sha: str) -> str:
    return (git.try_run(root, "rev-parse", "--short", sha) or sha[:10]).strip()


def _is_shallow(root: Path) -> bool:
    return (git.try_run(root, "rev-parse", "--is-shallow-repository") or "").strip() == "true"


def _shallow_commits(root: Path) -> set[str]:
    path = (git.try_run(root, "rev-parse", "--git-path", "shallow") or "").strip()
    try:
        return set((root / path).read_text().split()) if path else set()
    except OSError:
        return set()
