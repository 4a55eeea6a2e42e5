"""tf report --html in headless Chromium (Debian's chromium package; `make browser`
installs it), loaded from a file with every network route closed: the page renders, its
numbers in the DOM are those of `tf coverage`, `tf status` and `tf prune --dry-run` in JSON,
it asks for nothing over the network, and a screenshot is kept in test-artifacts/."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.cli.test_prune import git, record, set_params
from tests.conftest import GIT_ENV, REPO, fixture_project_at, run_tf

SIG = "validate_completeness"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    shutil.which("google-chrome")  # GitHub's runners have Chrome
# What the machine probe found Chromium needs headless and offline: no sandbox as root, no
# GPU, and none of its own background connections; any host name resolves to nothing.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
         "--hide-scrollbars"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: "
                                "`make browser` installs Debian's chromium package")


class Numbers(HTMLParser):
    """(data-sig, data-key) -> text of every element that carries both; and every URL the
    page would load (src, href, url(...))."""

    def __init__(self):
        super().__init__()
        self.found: dict[tuple[str, str], str] = {}
        self.urls: list[str] = []
        self._open: list[tuple[str, str] | None] = []
        self._text: dict[tuple[str, str], str] = {}

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name in ("src", "href", "srcset", "data", "action"):
            if values.get(name) and not values[name].startswith("#"):
                self.urls.append(values[name])
        if "url(" in (values.get("style") or ""):
            self.urls.append(values["style"])
        key = (values["data-sig"], values["data-key"]) \
            if "data-sig" in values and "data-key" in values else None
        self._open.append(key)
        if key:
            self._text[key] = ""

    def handle_endtag(self, tag):
        if self._open:
            key = self._open.pop()
            if key:
                self.found[key] = self._text.pop(key).strip()

    def handle_data(self, data):
        for key in self._open:
            if key:
                self._text[key] += data


@pytest.fixture
def curated(tmp_path: Path) -> Path:
    """The fixture project in git, with pending examples, a lifecycle policy, and an effect
    measurement recorded for validate_completeness."""
    root = fixture_project_at(tmp_path / "repo")
    shutil.copy(REPO / ".gitignore", root / ".gitignore")
    folder = root / "datasets" / SIG
    pending = [record(n, source="synthetic") for n in (1, 2, 3)]
    for item in pending:
        item["metadata"]["review"] = {"status": "pending"}
    (folder / "synthetic.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pending))
    # a cap the coverage minimums allow for validate_completeness (tf prune holds back
    # retirements that would fail tf check)
    set_params(root, lifecycle={"max_per_cell": 7}, balance={"cell_dimensions": ["difficulty"]})
    examples = [json.loads(x) for x in (folder / "examples.jsonl").read_text().splitlines()]
    reports = root / "reports" / SIG
    reports.mkdir(parents=True)
    demos = [{"id": examples[0]["id"], "effect": 25.0, "flag": None},
             {"id": examples[1]["id"], "effect": -12.5, "flag": "harmful"}]
    (reports / "demos.json").write_text(json.dumps({
        "evaluated": True, "dev_score_percent": 62.5, "demos": demos,
        "buckets": [{"dimension": "difficulty", "bucket": "hard", "demos": 1, "effect": 25.0},
                    {"dimension": "difficulty", "bucket": "easy", "demos": 1,
                     "effect": -12.5}]}))
    (reports / "optimize.json").write_text(json.dumps({
        "optimizer": "bootstrap_fewshot", "optimized_score_percent": 62.5,
        "baseline_score_percent": 40.0, "demos_chosen": [demos[0]["id"], demos[1]["id"]]}))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "curated data")
    return root


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium on `page`, its profile (a fresh one) beside the page."""
    profile = page.parent / "chromium-profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)


def test_the_report_renders_offline_and_its_numbers_are_the_clis(curated: Path):
    page = curated / "report.html"
    written = run_tf("report", "--html", str(page), cwd=curated)
    assert written.exit_code == 0, written
    dom = chromium(page, "--dump-dom").stdout
    assert "<h1>tf report</h1>" in dom and "Content-Security-Policy" in dom
    parsed = Numbers()
    parsed.feed(dom)
    assert parsed.urls == []  # nothing for a browser to fetch
    numbers = parsed.found

    coverage = json.loads(run_tf("coverage", "--format", "json", cwd=curated).stdout)
    status = json.loads(run_tf("status", "--format", "json", cwd=curated).stdout)
    planned = json.loads(run_tf("prune", "--dry-run", "--format", "json", cwd=curated).stdout)
    compared = 0
    for cov in coverage["signatures"]:
        name = cov["signature"]
        for key in ("examples", "pending", "rejected"):
            assert numbers[(name, key)] == str(cov[key]), (name, key)
        assert numbers[(name, "gaps")] == str(len(cov["gaps"]))
        for dimension, counts in cov["dimensions"].items():
            for bucket, count in counts.items():
                assert numbers[(name, f"bucket:{dimension}={bucket}")] == str(count)
                compared += 1
        for requirement in cov["requirements"]:
            for cell in requirement.get("cells", []):
                key = "cell:" + "|".join(f"{d}={b}" for d, b in cell["cell"].items())
                assert numbers[(name, key)] == str(cell["count"]), (name, key)
                compared += 1
        retiring = [r for r in planned["retire"] if r["signature"] == name]
        assert numbers[(name, "to_retire")] == str(len(retiring))
    assert compared > 100
    assert numbers[(SIG, "pending")] == "3"
    assert any(r["signature"] == SIG for r in planned["retire"])

    effect = next(e for e in status["effect"] if e["signature"] == SIG)
    assert numbers[(SIG, "effect:dev_score")] == "62.5" == f"{effect['dev_score_percent']:g}"
    for bucket in effect["buckets"]:
        label = f"{bucket['dimension']}={bucket['bucket']}"
        assert numbers[(SIG, f"effect:bucket:{label}")] == f"{bucket['effect']:+.1f}"
    assert effect["harmful"] == [json.loads((curated / "reports" / SIG / "demos.json")
                                            .read_text())["demos"][1]["id"]]
    assert numbers[(SIG, "optimized_score")] == "62.5"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    chromium(page, "--window-size=1280,2400", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_text_from_the_repository_cannot_become_markup(curated: Path):
    """A bucket value, an id or a reason is text a pull request controls."""
    hostile = '<img src="http://127.0.0.1:9/x"><script>document.title="owned"</script>'
    examples = curated / "datasets" / SIG / "examples.jsonl"
    first = json.loads(examples.read_text().splitlines()[0])
    first["metadata"]["category"] = hostile
    examples.write_text("\n".join([json.dumps(first), *examples.read_text().splitlines()[1:]])
                        + "\n")
    page = curated / "report.html"
    assert run_tf("report", "--html", str(page), cwd=curated, env=GIT_ENV).exit_code == 0
    dom = chromium(page, "--dump-dom").stdout
    parsed = Numbers()
    parsed.feed(dom)
    assert parsed.urls == [] and "<script>" not in dom
    assert dom.split("<title>")[1].split("</title>")[0] == "tf report"  # no script ran
    assert "&lt;img src=" in dom  # shown as the text it is
