"""Which of this repository's Python files each pipeline stage runs, so dvc.yaml's code deps
cannot drift from the code: editing any module a stage imports makes `dvc status` report
that stage, and editing one it does not import leaves it alone.

    python -m tf_cli.pipeline.code_deps          # exit 1 and list the drift, if any
    python -m tf_cli.pipeline.code_deps --write  # rewrite the code deps in dvc.yaml

Imports are read from the source (every `import` anywhere in a file, including inside
functions, since tf imports heavy libraries lazily), never by running it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("tf_cli", "stages")  # this repository's code; everything else is a library


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(tree: ast.AST, inside_functions: bool):
    """The import statements of a module: all of them, or only those that run when it is
    imported (not inside a function)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif inside_functions or not isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))


def _imported_names(path: Path, root: Path, inside_functions: bool) -> set[str]:
    """The names of the modules `path` imports, relative ones resolved; for
    `from tf_cli.pipeline import pool` that is tf_cli.pipeline.validate, not the package."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in _imports(ast.parse(path.read_bytes(), str(path)), inside_functions):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        module = node.module or ""
        if node.level:
            parent = package[:len(package) - node.level + 1]
            module = ".".join([*parent, *([module] if module else [])])
        for alias in node.names:  # a submodule, or a name defined in the module itself
            submodule = f"{module}.{alias.name}"
            names.add(submodule if _module_file(submodule, root) else module)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def code_files(entry: str, root: Path = REPO) -> list[str]:
    """Every file of this repository that running `entry` (a module name such as
    stages.validate) can import, as sorted repository-relative paths.

    A module the code imports by name is followed into every import it holds, including
    those inside functions (tf imports lazily). A package imported only because one of its
    modules is (tf_cli/__init__.py for tf_cli.params) runs only its module-level imports,
    so only those are followed: otherwise every stage would depend on the whole API."""
    followed: dict[Path, bool] = {}  # file -> followed inside functions too
    todo = [(entry, True)]
    while todo:
        name, by_name = todo.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            path = _module_file(".".join(parts[:depth]), root)
            everywhere = by_name and depth == len(parts)
            if path is None or followed.get(path, False) or \
                    (path in followed and not everywhere):
                continue
            followed[path] = everywhere
            todo.extend((n, True) for n in _imported_names(path, root, everywhere))
    return sorted(str(p.relative_to(root)) for p in followed)


def _is_code(dep: str) -> bool:
    return dep.endswith(".py") and dep.split("/")[0] in PACKAGES


def drift(root: Path = REPO) -> dict[str, tuple[list[str], list[str]]]:
    """Per stage: (code files it imports that dvc.yaml omits, listed ones it no longer
    imports)."""
    from ruamel.yaml import YAML

    stages = YAML(typ="safe").load((root / "dvc.yaml").read_text())["stages"]
    found = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        listed = {d for d in body.get("deps", []) if isinstance(d, str) and _is_code(d)}
        needed = set(code_files(f"stages.{name}", root))
        if listed != needed:
            found[name] = (sorted(needed - listed), sorted(listed - needed))
    return found


def write(root: Path = REPO) -> None:
    """Rewrite each stage's code deps in dvc.yaml (comments and the other deps kept)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    path = root / "dvc.yaml"
    document = yaml.load(path.read_text())
    for name, stage in document["stages"].items():
        body = stage["do"] if "do" in stage else stage
        deps = body["deps"]
        data = [d for d in deps if not (isinstance(d, str) and _is_code(d))]
        deps.clear()
        deps.extend(code_files(f"stages.{name}", root) + data)
    with open(path, "w") as out:
        yaml.dump(document, out)


def main(argv: list[str]) -> int:
    if argv not in ([], ["--write"]):  # --help, or anything else: say how to use it
        print(__doc__.strip())
        return 0 if argv in (["-h"], ["--help"]) else 2
    if argv == ["--write"]:
        write()
        return 0
    problems = drift()
    for stage, (missing, extra) in problems.items():
        for dep in missing:
            print(f"dvc.yaml: stage {stage} imports {dep} but does not list it as a dep")
        for dep in extra:
            print(f"dvc.yaml: stage {stage} lists {dep} but does not import it")
    if problems:
        print("fix: python -m tf_cli.pipeline.code_deps --write")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
