"""tf validate on a file large enough to be checked by several processes (tf_cli/parallel.py)
reports exactly what one process reports: the same problems, lines and order, and
duplicate ids found across the ranges the workers read. Real processes: a forked pool is
the point (and tf only forks when it runs no other thread, as in the CLI)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.conftest import run_tf_process
from tests.lm_server import completeness_example
from tf_cli.parallel import PARALLEL_FROM_BYTES

FILE = "datasets/validate_completeness/examples.jsonl"
LIMIT = 4096  # --max-line-bytes: one line below is longer


def example(n: int) -> dict:
    made = completeness_example(n, {"completion": ("full", "partial", "barely")[n % 3]})
    return {"id": f"01K{n:023d}", "inputs": made["inputs"], "outputs": made["outputs"],
            "metadata": {"source": "manual", "difficulty": made["difficulty"],
                         "category": made["category"], "created_at": "2026-11-20T10:00:00Z"}}


def canonical(record: dict) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"


def write_large_file(project: Path) -> dict[str, int]:
    """Valid examples past the parallel threshold, with trouble spread over the whole file;
    returns where each kind of trouble is (1-based line numbers)."""
    lines = [canonical(example(n)) for n in range(1, 40_001)]
    assert sum(map(len, lines)) > 1.5 * PARALLEL_FROM_BYTES
    broken_rule = example(2)  # is_complete with requirements missing: a rule, not the schema
    broken_rule["outputs"]["is_complete"] = True
    wrong_type = example(3)
    wrong_type["outputs"]["is_complete"] = "yes"
    record = example(40_004)  # valid, but its keys out of order: not canonical
    reordered = json.dumps({key: record[key] for key in reversed(record)}).encode() + b"\n"
    where = {"wrong_type": 150, "broken_rule": 14_000, "malformed": 19_999,
             "too_long": 24_345, "reordered": 28_000, "duplicate": 39_990}
    lines[where["wrong_type"] - 1] = canonical({**wrong_type, "id": "01K" + "9" * 23})
    lines[where["broken_rule"] - 1] = canonical({**broken_rule, "id": "01K" + "8" * 23})
    lines[where["malformed"] - 1] = b'{"id": "01K' + b"7" * 23 + b'", "inputs": \n'
    lines[where["too_long"] - 1] = canonical({**example(40_002), "pad": "x" * LIMIT})
    lines[where["reordered"] - 1] = reordered
    lines[where["duplicate"] - 1] = lines[4]  # the id of line 5, near the other end
    body = b"".join(lines) + canonical(example(40_003))[:-1]  # the last line has no "\n"
    (project / FILE).parent.mkdir(parents=True, exist_ok=True)
    (project / FILE).write_bytes(body)
    return where


def validate_json(project: Path, jobs: int) -> dict:
    result = run_tf_process("validate", "--format", "json", "--jobs", str(jobs),
                            "--max-line-bytes", str(LIMIT), cwd=project, timeout=120)
    assert result.exit_code == 1, result
    return json.loads(result.stdout)


def test_several_processes_report_exactly_what_one_reports(project: Path):
    where = write_large_file(project)
    alone = validate_json(project, jobs=1)
    together = validate_json(project, jobs=3)
    assert alone["processes"] == 1 and together["processes"] == 3
    assert together["problems"] == alone["problems"]
    assert together["examples"] == alone["examples"] == 40_001 - 2  # malformed, too long

    lines = {kind: [p["line"] for p in alone["problems"] if p["line"] == line]
             for kind, line in where.items()}
    assert all(lines[kind] for kind in ("wrong_type", "broken_rule", "malformed",
                                        "too_long", "duplicate")), alone["problems"]
    assert not lines["reordered"]  # not canonical is fmt's business, not a problem
    messages = {p["line"]: p["message"] for p in alone["problems"]}
    assert "first used at " + FILE + ":5" in messages[where["duplicate"]]
    assert "rule complete_iff_nothing_missing" in messages[where["broken_rule"]]
    assert "over the 4,096-byte limit" in messages[where["too_long"]]
    assert [p["line"] for p in alone["problems"]] == sorted(where[k] for k in (
        "wrong_type", "broken_rule", "malformed", "too_long", "duplicate"))


def test_a_small_file_is_checked_in_one_process(project: Path):
    (project / FILE).parent.mkdir(parents=True)
    (project / FILE).write_bytes(b"".join(canonical(example(n)) for n in range(1, 50)))
    result = run_tf_process("validate", "--format", "json", cwd=project)
    assert result.exit_code == 0, result
    assert json.loads(result.stdout)["processes"] == 1


def wait_for_workers(pid: int) -> None:
    """Until `pid` has forked a worker: a process whose parent it is (Linux's /proc)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:  # "pid (comm) state ppid ...": comm may hold spaces, so split after ")"
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    return
            except (OSError, IndexError, ValueError):
                continue  # the process ended meanwhile
        time.sleep(0.005)
    raise AssertionError(f"process {pid} started no worker in 30 s")


def test_ctrl_c_during_a_parallel_check_exits_130_without_a_traceback(project: Path):
    """The parent handles Ctrl-C (the workers ignore it) and drops the ranges not started."""
    line = canonical(example(1))
    (project / FILE).parent.mkdir(parents=True)
    with open(project / FILE, "wb") as out:  # ~190 MB of one valid line: seconds of work
        for n in range(200_000):
            out.write(line.replace(b"01K" + b"%023d" % 1, b"01K" + b"%023d" % n, 1))
    child = subprocess.Popen([sys.executable, "-m", "tf_cli", "validate", "--jobs", "2"],
                             cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                         signal.SIG_DFL))
    wait_for_workers(child.pid)  # inside the parallel check (a fixed sleep can miss it)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, (out, err)
    assert time.monotonic() - sent < 5
    assert "Traceback" not in err and "ok:" not in out
