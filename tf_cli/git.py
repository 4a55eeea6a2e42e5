"""Git, the one module that runs it: revisions read without a checkout, commits of one file.

Every call goes through `run` (fails with the command and git's message) or `try_run`
(None on failure, for questions such as "is there a main branch?").
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tf_cli.errors import TfError, UsageError

WORKTREE = None  # the working tree, as a revision


def try_run(project_root: Path, *args: str) -> str | None:
    """git's stdout, or None when the command fails."""
    # errors="replace": a file name that is not UTF-8 must not stop a report about others
    done = subprocess.run(["git", *args], cwd=project_root, capture_output=True,
                          encoding="utf-8", errors="replace")
    return None if done.returncode else done.stdout


def run(project_root: Path, *args: str, error=UsageError, hint: str | None = None) -> str:
    """git's stdout; `error` (a TfError class) with git's message when the command fails."""
    done = subprocess.run(["git", *args], cwd=project_root, capture_output=True,
                          encoding="utf-8", errors="replace")
    if done.returncode:
        raise error(f"git {' '.join(args[:2])}: {done.stderr.strip() or 'failed'}", hint=hint)
    return done.stdout


def resolve(project_root: Path, revision: str) -> str:
    found = try_run(project_root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if not found:
        raise UsageError(f'"{revision}" is not a commit of this repository',
                         hint="give a branch, a tag or a commit id (git log lists them)")
    return found.strip()


def default_base(project_root: Path) -> str:
    """The merge base with the main branch (main, then master, then origin/main), else HEAD."""
    for branch in ("main", "master", "origin/main", "origin/master"):
        found = (try_run(project_root, "merge-base", "HEAD", branch) or "").strip()
        if found:
            return found
    return resolve(project_root, "HEAD")


def user_name(project_root: Path) -> str | None:
    return (try_run(project_root, "config", "user.name") or "").strip() or None


def commit(project_root: Path, paths: list[Path], message: str, hint: str) -> None:
    """Commit these files (their current content) alone: whatever else is staged stays
    staged and out of the commit."""
    names = [str(p) for p in paths]
    run(project_root, "add", "--", *names, error=TfError, hint=hint)
    run(project_root, "commit", "--quiet", "-m", message, "--", *names, error=TfError,
        hint=hint)


def uncommitted(project_root: Path, paths: list[Path]) -> list[str]:
    """Those of `paths` with changes git has not committed (staged, unstaged or untracked),
    as git names them. Outside a git repository: a UsageError."""
    out = run(project_root, "status", "--porcelain", "-z", "--untracked-files=all", "--",
              *[str(p) for p in paths],
              hint="tf commits what it moves: run it in a git repository, or pass "
                   "--no-commit")
    return [entry[3:] for entry in out.split("\0") if len(entry) > 3]


def read_tree(project_root: Path, revision: str | None, folder: str) -> dict[str, bytes]:
    """path -> content of every file under `folder` at `revision` (None: working tree)."""
    if revision is WORKTREE:
        return _read_worktree(project_root, folder)
    listing = run(project_root, "ls-tree", "-r", "-z", revision, "--", folder)
    entries = [line.split("\t", 1) for line in listing.split("\0") if line]
    blobs = [(meta.split()[2], path) for meta, path in entries if meta.split()[1] == "blob"]
    if not blobs:
        return {}
    # One `git cat-file --batch` process streams every blob: fast for large data sets.
    contents = _cat_batch(project_root, [sha for sha, _ in blobs])
    return {path: content for (_, path), content in zip(blobs, contents, strict=True)
            if content is not None}


def _read_worktree(project_root: Path, folder: str) -> dict[str, bytes]:
    """The working tree's dataset files under `folder`, refusing links and FIFOs as tf
    validate does (file_safety.require_regular): a pull request can commit a link to a
    secret, and an untracked one is read too."""
    from tf_cli.file_safety import require_real_folders_between, require_regular

    base = require_real_folders_between(project_root, project_root / folder)
    if not base.is_dir():
        return {}
    return {str(path.relative_to(project_root)): require_regular(path).read_bytes()
            for path in sorted(base.rglob("*")) if path.is_symlink() or not path.is_dir()}


def file_versions(project_root: Path, path: str, limit: int = 100, experiments: bool = False,
                  max_bytes: int = 8 << 20) -> list[tuple[str, bytes]]:
    """(commit, content) of each recorded version of one file, newest first: the commits
    of the current branch that changed it, then (with `experiments`) DVC experiments'
    commits (refs/exps/...) whose version is none of the branch's (an experiment applied
    and committed is one run, not two). At most `limit`; none outside a git repository. A
    version over `max_bytes` is left out unread, and so is every version once 8 times that
    has been read (the file is in git: a pull request can make it any size, many times)."""
    log = try_run(project_root, "log", f"-{limit}", "--format=%H", "--", path) or ""
    commits = log.split()
    found = [(c, content) for c, content in zip(
        commits, _blobs(project_root, [f"{c}:{path}" for c in commits], max_bytes), strict=True)
        if content is not None]
    if experiments:
        refs = (try_run(project_root, "for-each-ref", "--format=%(objectname)", "refs/exps")
                or "").split()
        seen = {content for _, content in found}
        for commit, content in zip(
                refs, _blobs(project_root, [f"{c}:{path}" for c in refs], max_bytes), strict=True):
            if content is not None and content not in seen:
                seen.add(content)
                found.append((commit, content))
    return found[:limit]


def _blobs(project_root: Path, names: list[str], max_bytes: int) -> list[bytes | None]:
    """The content of each `rev:path` (None where it does not exist or is over
    `max_bytes`), from one `git cat-file --batch-check` and one `--batch` process."""
    if not names:
        return []
    checked = subprocess.run(["git", "cat-file", "--batch-check"], cwd=project_root,
                             input="".join(f"{n}\n" for n in names).encode(),
                             capture_output=True, check=True).stdout.splitlines()
    small, total = [], 0
    for name, header in zip(names, checked, strict=True):
        size = -1 if header.endswith(b" missing") else int(header.split()[2])
        if 0 <= size <= max_bytes and total + size <= 8 * max_bytes:
            small.append(name)
            total += size
    if len(small) < len(names):
        read = dict(zip(small, _cat_batch(project_root, small), strict=True))
        return [read.get(name) for name in names]
    return _cat_batch(project_root, names)


def _cat_batch(project_root: Path, names: list[str]) -> list[bytes | None]:
    """The content of each object name (a sha or `rev:path`; None where git has none), from
    one `git cat-file --batch` process."""
    if not names:
        return []
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=project_root,
                         input="".join(f"{n}\n" for n in names).encode(),
                         capture_output=True, check=True).stdout
    contents: list[bytes | None] = []
    position = 0
    for _ in names:
        header_end = out.index(b"\n", position)
        fields = out[position:header_end].split()
        if fields[-1] == b"missing":
            contents.append(None)
            position = header_end + 1
            continue
        size = int(fields[2])
        contents.append(out[header_end + 1:header_end + 1 + size])
        position = header_end + 1 + size + 1
    return contents


def changed_paths(project_root: Path, base: str, head: str | None) -> list[str]:
    args = ["diff", "--name-only", base] + ([head] if head else [])
    return [p for p in run(project_root, *args).splitlines() if p]
