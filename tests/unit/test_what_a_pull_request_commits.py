"""README's "What a pull request commits" matches what dvc.yaml writes and .gitignore hides:
every output kept in git is in a place it says to commit, every cached one is ignored."""

from __future__ import annotations

import subprocess

from ruamel.yaml import YAML

from tests.conftest import REPO

COMMITTED = ("datasets/", "reports/", "summary/")  # the places the README lists
IGNORED = ("data/", "programs/")


def section() -> str:
    text = (REPO / "README.md").read_text()
    return text.split("### What a pull request commits\n", 1)[1].split("\n#", 1)[0]


def outputs() -> list[tuple[str, bool]]:
    """(path, kept in git) of every out and metric of dvc.yaml, ${item} as a signature."""
    stages = YAML(typ="safe").load((REPO / "dvc.yaml").read_text())["stages"]
    found = []
    for stage in stages.values():
        body = stage.get("do", stage)
        for entry in [*body.get("outs", []), *body.get("metrics", [])]:
            path, options = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
            found.append((path.replace("${item}", "validate_intent"),
                          options.get("cache", True) is False))
    return found


def ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "--no-index", "-q", path],
                          cwd=REPO).returncode == 0


def test_the_readme_lists_every_file_a_pull_request_commits():
    text = " ".join(section().split())
    for named in ("`datasets/<sig>/*.jsonl`", "`dvc.lock`", "`reports/<sig>/*.json`",
                  "`reports/<sig>/generate.json`", "`summary/summary.md`",
                  "`summary/plots/*.json`", "`data/`", "`programs/`", "`*.rejects.jsonl`",
                  "`reports/<sig>/*.log`", "`summary/report.html`"):
        assert named in text, named
    for path, in_git in outputs():
        if in_git:
            assert path.startswith(COMMITTED) and not ignored(path), path
        else:
            assert path.startswith(IGNORED), path
    subprocess.run(["git", "ls-files", "--error-unmatch", "dvc.lock"], cwd=REPO, check=True,
                   capture_output=True)
    for path in ("data/validate_intent/pool.jsonl", "programs/validate_intent.json",
                 ".dspy_cache/x", "datasets/validate_intent/examples.jsonl.lock",
                 "tickets.rejects.jsonl", "reports/validate_intent/generate.rejects.jsonl",
                 "reports/validate_intent/optimize.log", ".venv-lm/bin/python",
                 ".dvc/config.local", "summary/report.html"):
        assert ignored(path), f"{path} would show in git status"
