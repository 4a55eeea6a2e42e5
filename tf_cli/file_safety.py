"""Reading and writing only regular files inside the repository.

Everything a pull request can change is untrusted, and git can commit a symbolic link (to
a secret, to /dev/zero, out of the repository); a checkout can also hold a FIFO or a
device. Every file tf reads from or writes to the repository passes one of these checks
first, so a read cannot hang or leak and a write cannot land elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from tf_cli.errors import UsageError

MAX_SCHEMA_BYTES = 4 << 20  # far above any real schema, far below trouble


def read_schema_file(path: Path) -> bytes:
    """The bytes of a file in schemas/, read only if it is a regular file of sane size:
    a pull request can commit a link to /dev/zero, to a FIFO, or to a secret."""
    size = os.lstat(path).st_size
    kind = irregular(path) or (
        f"{size:,} bytes, over the {MAX_SCHEMA_BYTES:,}-byte limit for a schema"
        if size > MAX_SCHEMA_BYTES else None)
    if kind:
        raise UsageError(f"{os.path.relpath(path)}: {kind}; schema files must be regular "
                         "files inside schemas/", hint="replace it with the file itself")
    with open(path, "rb") as f:
        data = f.read(MAX_SCHEMA_BYTES + 1)
    if len(data) > MAX_SCHEMA_BYTES:  # it grew since lstat
        raise UsageError(f"{os.path.relpath(path)}: over the {MAX_SCHEMA_BYTES:,}-byte limit "
                         "for a schema")
    return data


def require_regular(path: Path) -> Path:
    """`path`, if it is a regular file or absent. A folder, a FIFO, a device or a symbolic
    link (which git can commit) would hang a read or lead a write out of the repository;
    so would a dataset file whose folders (datasets/<signature>/) are links."""
    require_real_folders(path.parent)
    kind = irregular(path)
    if kind:
        raise UsageError(f"{os.path.relpath(path)}: {kind}; a dataset file must be a regular "
                         "file inside the repository",
                         hint="remove it, or replace it with the file")
    return path


def require_real_folders(folder: Path) -> None:
    """datasets/<signature>/ and datasets/ must be folders, not links leading elsewhere."""
    linked = next((p for p in (folder, folder.parent) if p.is_symlink()), None)
    if linked is not None:
        raise UsageError(f"{os.path.relpath(linked)}: a symbolic link; dataset folders must "
                         "be real folders inside the repository",
                         hint="replace the link with the folder it points to")


def irregular(path: Path) -> str | None:
    """What `path` is when it is neither absent nor a regular file (never following it)."""
    import stat

    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return None if stat.S_ISREG(mode) else "not a regular file (a FIFO or a device)"


def require_inside(root: Path, path: Path) -> Path:
    """`path` (a pipeline output or report: read, written, or handed to DSPy, which follows
    links) once its folders are real (require_real_folders_between) and it is absent, a
    regular file, or a link that stays inside the repository (DVC's symlink cache type
    links outputs into .dvc/cache); never a FIFO or a device."""
    require_real_folders_between(root, path.parent)
    kind = irregular(path)
    if kind == "a symbolic link":
        target = path.resolve()
        if target.is_relative_to(root.resolve()) and irregular(target) in (None, "a folder"):
            return path
    if kind and kind != "a folder":
        raise UsageError(f"{os.path.relpath(path)}: {kind}; tf reads and writes only files "
                         "inside the repository", hint="remove it: the stage that writes it "
                         "writes it again")
    return path


def require_real_folders_between(root: Path, path: Path) -> Path:
    """`path`, if every folder from the repository `root` down to it (itself included) is a
    real folder or absent: a committed link (reports/<sig> -> /home/you/.ssh) would lead a
    read or a write out of the repository."""
    here = root
    for part in path.relative_to(root).parts:
        here = here / part
        if here.is_symlink():
            raise UsageError(f"{os.path.relpath(here)}: a symbolic link; tf reads and writes "
                             "only real folders inside the repository",
                             hint="replace the link with the folder it points to")
    return path
