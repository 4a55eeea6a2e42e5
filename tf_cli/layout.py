"""Every file tf keeps in a repository, by role, and the `metadata.source` values. Nothing
else in tf spells a file name.

    schemas/<sig>.schema.json        one example of the signature (JSON Schema)
    schemas/<sig>.rules.json         its named cross-field rules
    datasets/<sig>/examples.jsonl    curated: written or approved by a person; counted
    datasets/<sig>/captured.jsonl    pending review: captured from a running application
    datasets/<sig>/bootstrap.jsonl   pending review: labelled by the bootstrap teacher
    datasets/<sig>/synthetic.jsonl   pending review: written by tf generate
    datasets/<sig>/prompts.jsonl     inputs only, for bootstrap to label; not examples
    datasets/<sig>/retired.jsonl     retired by tf prune (metadata.retired says why and
                                     from where): validated, never counted or trained
    data/<sig>/                      pipeline outputs: pool, rejects, train, dev, dspy.json
    programs/<sig>.json              the optimized program
    reports/<sig>/<step>.json        each step's report: synthesize, validate, balance,
                                     convert, optimize (stages), generate (tf generate);
                                     and train_coverage.json (balance: bucket counts)
    reports/<sig>/scores.json        optimize's numbers: the DVC metrics file
    reports/<sig>/effect.json        the effect stage's numbers (metrics); demos.json: per
                                     demo and bucket (tf_cli.effect reads it)
    summary/                         the summary stage: summary.md, plots/*.json
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tf_cli.project import Project

SCHEMAS_DIR, DATASETS_DIR, REPORTS_DIR = "schemas", "datasets", "reports"
PARAMS_FILE = "params.yaml"  # settings (tf_cli/params.schema.json checks it)
COVERAGE_FILE = "coverage.yaml"  # the coverage requirements, when kept apart from params
PIPELINE_FILE = "dvc.yaml"
SCORES_FILE = "scores.json"  # in reports/<sig>/, by optimize: the DVC metrics file
DATASET_SUFFIX = ".jsonl"
SCHEMA_SUFFIX = ".schema.json"
RULES_SUFFIX = ".rules.json"
# Schemas in schemas/ that describe something other than one signature's examples.
SHARED_SCHEMAS = frozenset({"common", "params"})

EXAMPLES_FILE = "examples.jsonl"
CAPTURED_FILE = "captured.jsonl"
BOOTSTRAP_FILE = "bootstrap.jsonl"
SYNTHETIC_FILE = "synthetic.jsonl"
PROMPTS_FILE = "prompts.jsonl"
RETIRED_FILE = "retired.jsonl"
# The .jsonl files of datasets/<sig>/ that hold no counted, trainable examples: inputs to
# label, and examples tf prune retired. Counting, coverage, the pipeline, tf diff and tf log
# leave them out; tf validate checks them.
NOT_EXAMPLE_FILES = (PROMPTS_FILE, RETIRED_FILE)
# Files whose examples wait for `tf review` (review.status: pending) until approved.
PENDING_FILES = (SYNTHETIC_FILE, BOOTSTRAP_FILE, CAPTURED_FILE)
# The files that feed the pipeline, human-curated first: of two duplicates, the one met
# first is kept.
PIPELINE_SOURCE_FILES = (EXAMPLES_FILE, CAPTURED_FILE, BOOTSTRAP_FILE, SYNTHETIC_FILE)

# metadata.source (schemas/common.schema.json lists the same values)
MANUAL, PRODUCTION, IMPORTED = "manual", "production", "imported"
BOOTSTRAPPED, SYNTHETIC = "bootstrap", "synthetic"
# Sources a person stands behind: kept first when duplicates or caps must drop some.
HUMAN_SOURCES = (MANUAL, PRODUCTION, IMPORTED)


# data/<sig>/: what the stages hand each other (DVC cache, not git)
POOL_FILE = "pool.jsonl"  # validate: every accepted example
REJECTS_FILE = "rejects.jsonl"  # validate: what it dropped, and why
TRAIN_FILE, DEV_FILE = "train.jsonl", "dev.jsonl"  # balance: the split
DSPY_FILE = "dspy.json"  # convert: both splits as dspy.Example fields

# reports/<sig>/<step>.json that other steps read back
OPTIMIZE_REPORT, DEMOS_REPORT = "optimize", "demos"

# summary/: the summary stage's outputs (and tf report's page by default)
SUMMARY_FILE, REPORT_PAGE_FILE = "summary.md", "report.html"
PLOTS_DIR, COVERAGE_PLOT_FILE, SCORES_PLOT_FILE = "plots", "coverage.json", "scores.json"


def _inside(project: Project, path: Path) -> Path:
    """`path`, once no folder between the repository root and it is a link and it is no
    link out of the repository, FIFO or device: reports/, summary/, data/ and programs/ can
    be in git, so a pull request could make one lead a read or a write elsewhere, or a read
    hang (file_safety.require_inside)."""
    from tf_cli.file_safety import require_inside

    return require_inside(project.root, path)


def data_dir(project: Project, signature: str) -> Path:
    """data/<sig>/, once it and every file the stages keep there pass _inside."""
    folder = project.root / "data" / signature
    for name in (POOL_FILE, REJECTS_FILE, TRAIN_FILE, DEV_FILE, DSPY_FILE):
        _inside(project, folder / name)
    return folder


def split_path(project: Project, signature: str, split: str) -> Path:
    """data/<sig>/train.jsonl or dev.jsonl."""
    return data_dir(project, signature) / {"train": TRAIN_FILE, "dev": DEV_FILE}[split]


def report_path(project: Project, signature: str, step: str) -> Path:
    """reports/<signature>/<step>.json: a step's report is named after the step."""
    return _inside(project, project.root / REPORTS_DIR / signature / f"{step}.json")


def report_in_git(signature: str, step: str) -> str:
    """reports/<signature>/<step>.json as git names it (for reading past versions)."""
    return f"{REPORTS_DIR}/{signature}/{step}.json"


def rejects_path(project: Project, signature: str, command: str) -> Path:
    """reports/<signature>/<command>.rejects.jsonl: what `tf generate` or `tf bootstrap`
    rejected in its last run, with the evidence (not kept in git: *.rejects.jsonl)."""
    return _inside(project, project.root / REPORTS_DIR / signature / f"{command}.rejects.jsonl")


def log_path(project: Project, signature: str, step: str) -> Path:
    """reports/<signature>/<step>.log: DSPy's own log of a pipeline step that called an LM
    (not kept in git)."""
    return _inside(project, project.root / REPORTS_DIR / signature / f"{step}.log")


def scores_path(project: Project, signature: str) -> Path:
    """reports/<signature>/scores.json: the few numbers of the optimize report that DVC
    compares across commits (the pipeline's one metrics file per signature)."""
    return _inside(project, project.root / REPORTS_DIR / signature / SCORES_FILE)


def summary_dir(project: Project) -> Path:
    """summary/, once it and every file the summary stage writes there pass _inside."""
    folder = project.root / "summary"
    for path in (folder / SUMMARY_FILE, folder / REPORT_PAGE_FILE,
                 folder / PLOTS_DIR / COVERAGE_PLOT_FILE, folder / PLOTS_DIR / SCORES_PLOT_FILE):
        _inside(project, path)
    return folder


def report_page_path(project: Project) -> Path:
    """summary/report.html: tf report's page, which the summary stage also writes."""
    return summary_dir(project) / REPORT_PAGE_FILE


def program_path(project: Project, signature: str) -> Path:
    return _inside(project, project.root / "programs" / f"{signature}.json")
