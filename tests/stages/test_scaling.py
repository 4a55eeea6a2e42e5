"""Scaling out (README): a DVC remote on an S3-compatible server, the experiment queue, and
experiments from many machines through .github/workflows/experiments.yml, all offline: moto's
S3 server and the test LM server on 127.0.0.1, a bare Git repository as the Git remote.

One repository is built for the module (the `team` fixture): the fixture data of one
signature with tiny optimizer settings, a captured-examples file kept by DVC instead of git
(the README's `dvc add` block, run as written), `dvc repro` run offline and committed, its
outputs pushed to the S3 remote, and the commit in a bare repository every test clones. So an
experiment re-runs only the optimize stage it changes.

No process reads the user's AWS or git settings: HOME, the AWS config files and DVC's site
cache are inside the test's folder, the metadata service is off, and the credentials are
explicit fakes."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import GIT_ENV, REPO, assemble_repository
from tests.docs.test_readme import shell_blocks
from tests.lm_server import LMServer, completeness_example
from tests.stages.test_pipeline import SECRET, only_signatures

pytestmark = pytest.mark.slow

SIG = "validate_completeness"
BUCKET = "tf-test"
WORKFLOW = REPO / ".github" / "workflows" / "experiments.yml"
# The runners' credentials for the remote, from the repository's secrets in real life.
RUNNER_KEY_ID, RUNNER_SECRET = "ci-key-id", "ci-secret-5e4d3c2b1a-never-in-git"
GITHUB_TOKEN = "ghs_test-token-never-in-git"  # the job's token, github.token
# A person's, from the environment (or an AWS profile), as the README says.
PERSON_AWS = {"AWS_ACCESS_KEY_ID": "person-key-id", "AWS_SECRET_ACCESS_KEY": "person-secret"}
# The README's block that moves captured examples into DVC; the `team` fixture runs it.
DVC_ADD_BLOCK = "dvc add datasets/validate_completeness/captured.jsonl"


@dataclass
class Team:
    work: Path  # the team's working copy: repro'd, committed, pushed
    origin: Path  # the bare Git repository every clone comes from
    endpoint: str  # the S3 server
    base: Path  # the module's folder: HOME, AWS files, DVC's site cache


def base_env(base: Path, home: str = "home") -> dict[str, str]:
    """What every process here gets: this Python's tools first on PATH, and nothing of the
    user's: no AWS or TF_LM variables from outside, HOME and the AWS files inside `base`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "TF_LM_", "GIT_", "DVC_"))
           and not k.lower().endswith("_proxy")}  # 127.0.0.1 directly, never through a proxy
    (base / home).mkdir(exist_ok=True)
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(base / home), "GIT_CONFIG_NOSYSTEM": "1", "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(base / "dvc-site-cache"),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(base / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(base / "no-aws-credentials"),
            "NO_COLOR": "1"}


def person_env(base: Path, clone: Path, **extra: str) -> dict[str, str]:
    """A person at their clone: git identity, AWS credentials in the environment."""
    return {**base_env(base), **GIT_ENV, **PERSON_AWS,
            "DSPY_CACHEDIR": str(clone / ".dspy_cache"), **extra}


def run(*args: str, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """A command, `dvc` as `python -m dvc`; a traceback fails the test."""
    command = [sys.executable, "-m", "dvc", *args[1:]] if args[0] == "dvc" else list(args)
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def ok(*args: str, cwd: Path, env: dict, timeout: float = 300) -> str:
    proc = run(*args, cwd=cwd, env=env, timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(args)} failed ({proc.returncode}):\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def bash(script: str, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    """A script as GitHub runs a `run:` with `shell: bash` (and as the README blocks run)."""
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def set_params(path: Path, changes: dict[str, str]) -> None:
    text = path.read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Team:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 request
    base = tmp_path_factory.mktemp("scaling")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # The bucket exists before anyone pushes, as a real one would (moto takes an unsigned PUT).
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    direct.open(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT"), timeout=30)

    work = assemble_repository(base / "work")
    only_signatures(work, [SIG])
    # DSPy's disk cache off (the runners' answers are their own); tiny optimizer settings.
    set_params(work / "params.yaml", {"  cache: true": "  cache: false",
                                      "  max_bootstrapped_demos: 2": "  max_bootstrapped_demos: 1",
                                      "  max_labeled_demos: 4": "  max_labeled_demos: 1"})
    env = person_env(base, work)
    # The team's remote, in .dvc/config (committed), as the README's S3 block sets it up.
    ok("dvc", "remote", "add", "-d", "storage", f"s3://{BUCKET}/cache", cwd=work, env=env)
    ok("dvc", "remote", "modify", "storage", "endpointurl", endpoint, cwd=work, env=env)
    # An application captured two examples (tf_cli.capture), committed to git at first ...
    from tf_cli import capture

    for n in (1, 2):
        example = completeness_example(900 + n, {"difficulty": "hard", "category": "api"})
        kept = capture(SIG, example["inputs"], example["outputs"], quality=0.9, project=work,
                       metadata={"difficulty": "hard", "category": "api"})
        assert kept.accepted, kept.reason
    ok("git", "add", "-A", cwd=work, env=env)
    ok("git", "commit", "-qm", "captured examples", cwd=work, env=env)
    # ... then moved into DVC by the README's block, as written.
    block = next(b for b in shell_blocks((REPO / "README.md").read_text())
                 if DVC_ADD_BLOCK in b.text)
    moved = bash(block.text, cwd=work, env=env)
    assert moved.returncode == 0, moved.stdout[-3000:] + moved.stderr[-3000:]
    tracked = ok("git", "ls-files", f"datasets/{SIG}", cwd=work, env=env).split()
    assert f"datasets/{SIG}/captured.jsonl.dvc" in tracked
    assert f"datasets/{SIG}/captured.jsonl" not in tracked

    repro = run("dvc", "repro", cwd=work, env=env)
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:]
    # The validate stage read the file DVC keeps: its two examples await review.
    validated = json.loads((work / "reports" / SIG / "validate.json").read_text())
    assert validated["rejected_by_reason"] == {"review": 2}, validated
    ok("git", "add", "-A", cwd=work, env=env)
    ok("git", "commit", "-qm", "pipeline results", cwd=work, env=env)
    assert ok("git", "status", "--porcelain", cwd=work, env=env) == ""
    ok("dvc", "push", cwd=work, env=env)
    origin = base / "origin.git"
    ok("git", "clone", "-q", "--bare", str(work), str(origin), cwd=base, env=env)
    yield Team(work, origin, endpoint, base)
    server.stop()


def clone_of(team: Team, name: str, env: dict) -> Path:
    target = team.base / name
    ok("git", "clone", "-q", str(team.origin), str(target), cwd=team.base, env=env)
    return target


def lm_env(server: LMServer) -> dict[str, str]:
    return {"TF_LM_MODEL": "openai/test-model", "TF_LM_API_BASE": server.api_base,
            "TF_LM_API_KEY": SECRET}


# 4. The remote

def test_a_fresh_clone_pulls_the_outputs_and_the_captured_file_from_the_s3_remote(team: Team):
    clone = clone_of(team, "fresh", base_env(team.base))
    env = person_env(team.base, clone)
    assert not (clone / "programs" / f"{SIG}.json").exists()
    pulled = ok("dvc", "pull", cwd=clone, env=env)
    assert "Everything is up to date" not in pulled  # it fetched, from an empty cache
    for name in ("data/validate_completeness/pool.jsonl", "data/validate_completeness/dev.jsonl",
                 "data/validate_completeness/train.jsonl", "data/validate_completeness/dspy.json",
                 "programs/validate_completeness.json",
                 "datasets/validate_completeness/captured.jsonl"):
        assert (clone / name).read_bytes() == (team.work / name).read_bytes(), name
    status = ok("dvc", "status", cwd=clone, env=env)
    assert "Data and pipelines are up to date" in status, status


# 5. The queue

def wait_for_experiments(clone: Path, names: set[str], env: dict, timeout: float) -> None:
    """Until every named experiment has its ref (DVC collected it), failing at once if the
    queue records a failure. Polls git, not `dvc queue status` (a second of CPU a call)."""
    deadline = time.monotonic() + timeout
    while True:
        refs = ok("git", "for-each-ref", "--format=%(refname)", "refs/exps", cwd=clone,
                  env=env).split()
        if "refs/exps/celery/failed" in refs:
            logs = run("dvc", "queue", "status", cwd=clone, env=env).stdout
            pytest.fail(f"a queued experiment failed:\n{logs}\n{worker_logs(clone)}")
        if names <= {ref.rsplit("/", 1)[-1] for ref in refs}:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"experiments {names} not done after {timeout} s: {refs}\n"
                        f"{worker_logs(clone)}")
        time.sleep(0.2)


def worker_logs(clone: Path) -> str:
    return "\n".join(path.read_text()[-3000:]
                     for path in (clone / ".dvc" / "tmp" / "exps" / "celery").glob("*.out"))


def stop_workers(clone: Path, env: dict) -> None:
    """`dvc queue stop`, then wait until the workers this test started have exited (each
    records its exit code), so none outlives the test's folder."""
    ok("dvc", "queue", "stop", cwd=clone, env=env)
    deadline = time.monotonic() + 30
    workers = sorted((clone / ".dvc" / "tmp" / "exps" / "celery").glob("dvc-exp-worker-*.json"))
    assert len(workers) == 2, workers
    for info in workers:
        while json.loads(info.read_text()).get("returncode") is None:
            assert time.monotonic() < deadline, f"{info.name}: worker still running"
            time.sleep(0.2)


def experiments(shown: list[dict]) -> dict[str, dict]:
    """`dvc exp show --json`: experiment name -> its data (params, metrics)."""
    found = {}
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            for rev in experiment["revs"]:
                found[rev["name"]] = rev["data"]
    return found


def optimizer_and_scores(data: dict) -> tuple[str, dict]:
    params = data["params"]["params.yaml"]["data"]
    scores = data["metrics"][f"reports/{SIG}/scores.json"]["data"]
    return params["optimize"]["optimizer"], scores


def test_a_queued_sweep_of_two_optimizers_runs_on_two_workers_and_exp_show_lists_both(
        team: Team, tmp_path: Path):
    clone = team.base / "queue"  # a copy of the team's clone, its cache included
    shutil.copytree(team.work, clone, symlinks=True)
    with LMServer() as server:
        env = person_env(team.base, clone, **lm_env(server))
        # One -S with two values queues one experiment per value (DVC's sweep syntax).
        # mipro_v2 with two candidates and two trials: the pipeline's other optimizer
        # against the LM, in the same queue (its settings leave bootstrap_fewshot alone).
        queued = ok("dvc", "exp", "run", "--queue", "-n", "sweep",
                    "-S", "optimize.optimizer=bootstrap_fewshot,mipro_v2",
                    "-S", "optimize.auto=null", "-S", "optimize.num_candidates=2",
                    "-S", "optimize.num_trials=2", f"optimize@{SIG}", cwd=clone, env=env)
        assert queued.count("Queued experiment") == 2, queued
        # The workers outlive `dvc queue start` and hold its output: to files, not pipes.
        with open(tmp_path / "start.out", "w") as out:
            started = subprocess.run([sys.executable, "-m", "dvc", "queue", "start", "-j", "2"],
                                     cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, timeout=120)
        said = (tmp_path / "start.out").read_text()
        assert started.returncode == 0 and "Started '2' new experiments task queue workers" \
            in said, said
        try:
            wait_for_experiments(clone, {"sweep-1", "sweep-2"}, env, timeout=180)
        finally:
            stop_workers(clone, env)
        assert server.state.requests > 0
    shown = experiments(json.loads(ok("dvc", "exp", "show", "--json", cwd=clone, env=env)))
    assert set(shown) == {"sweep-1", "sweep-2"}, shown
    optimizers = {}
    for name, data in shown.items():
        optimizer, scores = optimizer_and_scores(data)
        optimizers[optimizer] = name
        assert isinstance(scores["optimized_score_percent"], int | float), (name, scores)
        assert scores["lm_calls"] > 0, (name, scores)
    assert set(optimizers) == {"bootstrap_fewshot", "mipro_v2"}
    # Queued experiments ran in copies: the workspace is as it was.
    assert ok("git", "status", "--porcelain", cwd=clone, env=env) == ""


# 6. Many machines: the workflow's own steps

def load_workflow() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text())


# Steps a test cannot take as written, and why.
SKIPPED_STEPS = {
    "actions/checkout@v4": "the test clones the bare repository (the whole history, as "
                           "fetch-depth: 0 does)",
    "actions/setup-python@v5": "this Python",
    "Install tf": "this Python's environment has tf and dvc-s3 (the test extra installs "
                  "tf-cli[s3], as this step does)",
}
EXPRESSION = re.compile(r"\$\{\{\s*(\w+)\.(\w+)\s*\}\}")


def substitute(text: str, contexts: dict[str, dict[str, str]]) -> str:
    """GitHub's `${{ context.name }}`; any other expression fails the test."""
    done = EXPRESSION.sub(lambda m: contexts[m.group(1)][m.group(2)], str(text))
    assert "${{" not in done, f"an expression the test does not know: {text}"
    return done


@dataclass
class StepRun:
    name: str
    proc: subprocess.CompletedProcess


def run_job(clone: Path, entry: dict[str, str], contexts: dict, env: dict) -> list[StepRun]:
    """The `optimize` job's steps for one matrix entry, as a runner runs them: each `run:`
    with `bash --noprofile --norc -eo pipefail`, the job's and the step's `env:` (their
    expressions substituted), GitHub's own variables. Stops at the first failing step."""
    job = load_workflow()["jobs"]["optimize"]
    assert job["defaults"]["run"]["shell"] == "bash"
    contexts = {**contexts, "matrix": entry}
    job_env = {k: substitute(v, contexts) for k, v in job.get("env", {}).items()}
    done = []
    for step in job["steps"]:
        if step.get("uses") in SKIPPED_STEPS or step.get("name") in SKIPPED_STEPS:
            continue
        assert "uses" not in step, f"a step this test does not know: {step}"
        assert "${{" not in step["run"], "expressions go through env:, not into the script"
        step_env = {k: substitute(v, contexts) for k, v in step.get("env", {}).items()}
        proc = bash(step["run"], cwd=clone, env={**env, **job_env, **step_env})
        done.append(StepRun(step["name"], proc))
        if proc.returncode != 0:
            break
    return done


def test_two_runners_push_their_experiments_and_a_third_clone_compares_and_applies_one(
        team: Team):
    matrix = load_workflow()["jobs"]["optimize"]["strategy"]["matrix"]
    entries = [{"signature": SIG, "optimizer": "labeled_fewshot"},
               {"signature": SIG, "optimizer": "bootstrap_fewshot"}]
    for entry in entries:  # two of the workflow's own matrix entries
        assert set(entry) == set(matrix) and all(entry[k] in matrix[k] for k in entry), entry
    with LMServer() as server:
        contexts = {
            "vars": {"DVC_REMOTE_URL": f"s3://{BUCKET}/cache", "DVC_REMOTE_ENDPOINT":
                     team.endpoint, "TF_LM_MODEL": "openai/test-model",
                     "TF_LM_API_BASE": server.api_base},
            "secrets": {"DVC_REMOTE_ACCESS_KEY_ID": RUNNER_KEY_ID,
                        "DVC_REMOTE_SECRET_ACCESS_KEY": RUNNER_SECRET,
                        "TF_LM_API_KEY": SECRET},
            "github": {"run_number": "7", "run_attempt": "1", "token": GITHUB_TOKEN}}
        runners, envs = [], []
        for i, _ in enumerate(entries):
            # A runner: a machine of its own (HOME), a fresh checkout; no git identity, no
            # AWS credentials but the secrets the workflow hands over.
            clone = clone_of(team, f"runner-{i}", base_env(team.base))
            summary = team.base / f"runner-{i}-summary.md"
            summary.write_text("")
            runners.append(clone)
            envs.append({**base_env(team.base, f"runner-{i}-home"), "CI": "true",
                         "GITHUB_ACTIONS": "true",
                         "GITHUB_RUN_NUMBER": "7", "GITHUB_RUN_ATTEMPT": "1",
                         "GITHUB_STEP_SUMMARY": str(summary),
                         "DSPY_CACHEDIR": str(clone / ".dspy_cache")})
        with ThreadPoolExecutor(len(entries)) as pool:  # the two runners at once
            jobs = list(pool.map(run_job, runners, entries, [contexts] * 2, envs))
        assert server.state.requests > 0
    names = []
    for clone, entry, steps, env in zip(runners, entries, jobs, envs, strict=True):
        for step in steps:
            assert step.proc.returncode == 0, (
                f"{entry}: step {step.name!r} failed:\n{step.proc.stdout[-3000:]}\n"
                f"{step.proc.stderr[-3000:]}")
        ran = {step.name: step.proc for step in steps}
        assert list(ran) == ["Configure the DVC remote", "Pull the pipeline's outputs",
                             "Run the experiment", "Push the experiment"]
        # The pull brought every upstream output: only the optimize stage ran.
        stages = set(re.findall(r"Running stage '([^']+)'", ran["Run the experiment"].stdout))
        assert stages == {f"optimize@{SIG}"}, ran["Run the experiment"].stdout
        name = f"{SIG}-{entry['optimizer']}-7-1"
        names.append(name)
        assert f"Pushed experiment {name}" in ran["Push the experiment"].stdout
        summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
        assert f"## {name}" in summary and '"optimized_score_percent":' in summary, summary
        # The credentials live in .dvc/config.local, which git ignores.
        assert RUNNER_SECRET in (clone / ".dvc" / "config.local").read_text()
        ok("git", "check-ignore", "-q", ".dvc/config.local", cwd=clone, env=env)
        # Pushing here needs no credentials (a local path); on GitHub, DVC's Git client asks
        # the credential helper the push step set up: it answers with the job's token.
        asked = ok(sys.executable, "-c", "from scmrepo.git.credentials import Credential; "
                   "c = Credential(url='https://github.com/owner/repo').fill(); "
                   "print(c.username, c.password)", cwd=clone,
                   env={**env, "GITHUB_TOKEN": GITHUB_TOKEN})
        assert asked.split() == ["x-access-token", GITHUB_TOKEN]
    # Nothing secret reached the Git remote.
    refs = ok("git", "for-each-ref", "--format=%(refname)", "refs/exps", cwd=team.origin,
              env=base_env(team.base)).split()
    assert {ref.rsplit("/", 1)[-1] for ref in refs} == set(names)
    for secret in (RUNNER_SECRET, SECRET, GITHUB_TOKEN):
        found = run("git", "grep", "-q", secret, *refs, cwd=team.origin, env=base_env(team.base))
        assert found.returncode == 1, f"{secret} is in an experiment commit"

    # Anyone: pull both experiments (refs from Git, outputs from the DVC remote), compare.
    reviewer = clone_of(team, "reviewer", base_env(team.base))
    env = person_env(team.base, reviewer)
    pulled = ok("dvc", "exp", "pull", "origin", cwd=reviewer, env=env)
    assert all(name in pulled for name in names), pulled
    shown = experiments(json.loads(ok("dvc", "exp", "show", "--json", cwd=reviewer, env=env)))
    assert set(shown) == set(names), shown
    for name, entry in zip(names, entries, strict=True):
        optimizer, scores = optimizer_and_scores(shown[name])
        assert optimizer == entry["optimizer"]
        assert isinstance(scores["optimized_score_percent"], int | float), scores
        assert scores["lm_calls"] > 0, scores
    # Apply one as a reviewable commit: its params, lock, reports and program, the program
    # from the DVC remote.
    ok("dvc", "exp", "apply", names[1], cwd=reviewer, env=env)
    ok("git", "add", "-A", cwd=reviewer, env=env)
    ok("git", "commit", "-qm", f"optimize: {names[1]}", cwd=reviewer, env=env)
    changed = ok("git", "show", "--name-only", "--format=", "HEAD", cwd=reviewer, env=env).split()
    assert {"params.yaml", "dvc.lock", f"reports/{SIG}/scores.json"} <= set(changed), changed
    assert f"programs/{SIG}.json" not in changed  # DVC's, not git's
    program = f"programs/{SIG}.json"
    assert (reviewer / program).read_bytes() == (runners[1] / program).read_bytes()
    params = YAML(typ="safe").load((reviewer / "params.yaml").read_text())
    assert params["optimize"]["optimizer"] == entries[1]["optimizer"]


def test_the_workflow_refuses_a_project_config_that_defines_its_remote(team: Team):
    """A change to .dvc/config that defines the remote `ci` (here: its endpoint, a server
    of the change's author) would add to where the credentials go: the step refuses it
    before writing any credential."""
    clone = clone_of(team, "redirected", base_env(team.base))
    with (clone / ".dvc" / "config").open("a") as config:
        config.write("['remote \"ci\"']\n    url = s3://elsewhere/cache\n"
                     "    endpointurl = http://127.0.0.1:9\n")
    step = next(s for s in load_workflow()["jobs"]["optimize"]["steps"]
                if s.get("name") == "Configure the DVC remote")
    contexts = {"vars": {"DVC_REMOTE_URL": f"s3://{BUCKET}/cache", "DVC_REMOTE_ENDPOINT": ""},
                "secrets": {"DVC_REMOTE_ACCESS_KEY_ID": RUNNER_KEY_ID,
                            "DVC_REMOTE_SECRET_ACCESS_KEY": RUNNER_SECRET}}
    env = {k: substitute(v, contexts) for k, v in step["env"].items()}
    done = bash(step["run"], cwd=clone, env={**base_env(team.base, "redirected-home"), **env})
    assert done.returncode == 1
    assert "::error::.dvc/config defines the remote 'ci'" in done.stdout
    assert not (clone / ".dvc" / "config.local").exists()
