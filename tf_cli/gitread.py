"""Reading files of any revision straight from Git, without a checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tf_cli.errors import UsageError

WORKTREE = None  # the working tree, as a revision


def git(project_root: Path, *args: str) -> str:
    # errors="replace": a file name that is not UTF-8 must not stop a report about others
    done = subprocess.run(["git", *args], cwd=project_root, capture_output=True,
                          encoding="utf-8", errors="replace")
    if done.returncode:
        raise UsageError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout


def resolve(project_root: Path, revision: str) -> str:
    return git(project_root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()


def default_base(project_root: Path) -> str:
    """The merge base with the main branch (main, then master, then origin/main), else HEAD."""
    for branch in ("main", "master", "origin/main", "origin/master"):
        done = subprocess.run(["git", "merge-base", "HEAD", branch], cwd=project_root,
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return resolve(project_root, "HEAD")


def read_tree(project_root: Path, revision: str | None, folder: str) -> dict[str, bytes]:
    """path -> content of every file under `folder` at `revision` (None: working tree)."""
    if revision is WORKTREE:
        base = project_root / folder
        return {str(p.relative_to(project_root)): p.read_bytes()
                for p in sorted(base.rglob("*")) if p.is_file()} if base.is_dir() else {}
    listing = git(project_root, "ls-tree", "-r", "-z", revision, "--", folder)
    entries = [line.split("\t", 1) for line in listing.split("\0") if line]
    blobs = [(meta.split()[2], path) for meta, path in entries if meta.split()[1] == "blob"]
    if not blobs:
        return {}
    # One `git cat-file --batch` process streams every blob: fast for large data sets.
    request = "".join(f"{sha}\n" for sha, _ in blobs).encode()
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=project_root, input=request,
                         capture_output=True, check=True).stdout
    files, position = {}, 0
    for _, path in blobs:
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        files[path] = out[header_end + 1:header_end + 1 + size]
        position = header_end + 1 + size + 1
    return files


def changed_paths(project_root: Path, base: str, head: str | None) -> list[str]:
    args = ["diff", "--name-only", base] + ([head] if head else [])
    return [p for p in git(project_root, *args).splitlines() if p]
