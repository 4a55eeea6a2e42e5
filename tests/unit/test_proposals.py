"""The proposal loop (tf_cli.proposals) in process, against the fixture data in tmp_path and
the test LM server: every rejection reason, each failed LM attempt reported, and the
accepted examples in the file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import fixture_project_at
from tests.lm_server import LMServer
from tf_cli import lm, proposals
from tf_cli.bootstrap import bootstrap
from tf_cli.examples import complete
from tf_cli.project import Project
from tf_cli.proposals import NotAsked, Rejection, Tally
from tf_cli.records import read_lines, write_records
from tf_cli.settings import QualitySettings

SIG = "validate_intent"
STORY = ("users who forget their password receive a reset link by email that expires after "
         "one hour and can be used only once")


def example(text: str, explanation: str = "The implementation does what was asked, and "
            "nothing else.", category: str = "api") -> dict:
    """A candidate as an answer gives it: no id yet."""
    return {"inputs": {"user_intent": f"Intent: {text}", "implementation": f"code for {text}"},
            "outputs": {"intent_matches": True, "explanation": explanation},
            "metadata": {"source": "synthetic", "difficulty": "easy", "category": category,
                         "created_at": "2026-11-20T10:00:00Z",
                         "review": {"status": "pending"}}}


@dataclass(frozen=True)
class Canned:
    label: str
    items: tuple  # the candidates the answer stands for (None: an item that is no example)
    answer_is_json: bool = True

    @property
    def size(self) -> int:
        return len(self.items)


class CannedSource:
    """A candidate source whose LM call is real (the test server) and whose answer is read
    as the unit's canned candidates; its own check wants category "api"."""

    kind = "unit"

    def __init__(self, units: list[Canned]):
        self._units = units

    def units(self) -> list[Canned]:
        return self._units

    def ask(self, unit: Canned, client) -> str:
        return str(client(f"Propose examples for {unit.label}.")[0])

    def read(self, unit: Canned, answer: str) -> list[dict | None]:
        if not unit.answer_is_json:
            raise NotAsked("the answer is not the JSON asked for")
        return [None if item is None else complete(item, source="synthetic")
                for item in unit.items]

    def fits(self, records: list[dict], tally: Tally) -> list[dict]:
        kept = [r for r in records if r["metadata"]["category"] == "api"]
        tally.reject(Rejection.WRONG_CELL, len(records) - len(kept),
                     {"detail": "not in category api"})
        return kept

    def evidence(self, unit: Canned, answer=None) -> dict:
        return {"unit": unit.label, **({"answer": answer} if answer is not None else {})}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = fixture_project_at(tmp_path / "project")
    manual = example(STORY) | {"id": "01JE3000000000000000000001"}
    manual["metadata"] = {**manual["metadata"], "source": "manual"}
    del manual["metadata"]["review"]
    examples = root / "datasets" / SIG / "examples.jsonl"
    write_records(examples, [line.record for line in read_lines(examples)] + [manual])
    return root


def test_every_rejection_reason_and_the_accepted_example_in_the_file(root: Path):
    project = Project(root)
    signature = project.signature(SIG)
    target = project.dataset_dir(SIG) / "synthetic.jsonl"
    before = target.read_bytes()
    good = example("export invoices as a CSV file every night for the finance team")
    mixed = Canned("unit 3", (
        None,                                                  # malformed
        example("a short explanation", explanation="short"),   # invalid (rule)
        example("refunds for cancelled orders", category="billing"),  # wrong_cell
        example("cache thumbnails", explanation="The implementation does it, TODO check "
                "the edge cases."),                            # quality: placeholder text
        example("rate limits per tenant"),                     # judge_error
        example(STORY.upper()),                                # duplicate: same inputs
        example(STORY + " today"),                             # near_duplicate
        good,                                                  # accepted
    ))
    units = [Canned("unit 1", (good, good)), Canned("unit 2", (good, good), False), mixed]
    with LMServer() as server:
        # One request at a time, in this order: unit 1's call fails four times (lost);
        # unit 2's and unit 3's calls pass; then the judge, once per example scored, fails
        # four times for the "rate limits" one.
        server.state.faults = ["500"] * 4 + ["none", "none", "none"] + ["500"] * 4
        settings = lm.LMSettings(model="openai/test-model", api_base=server.api_base,
                                 cache=False, num_threads=1, max_retry_wait=0)
        tally = proposals.run(
            CannedSource(units), project=project, signature=signature, target=target,
            client=lm.make_lm(settings), lm_settings=settings,
            quality=QualitySettings(judge=True, reject_below=0.58),
            near_duplicate_threshold=0.8, tally=Tally())
    # The test server's judge gives 0.5 per criterion: 0.6 with every rule check passed,
    # 0.55 with placeholder text.
    assert dict(tally.rejected) == {
        "lm_error": 2, "malformed": 3, "invalid": 1, "wrong_cell": 1, "quality": 1,
        "judge_error": 1, "duplicate": 1, "near_duplicate": 1}
    assert set(tally.rejected) == {r.value for r in Rejection} - {"invalid_prompt"}
    assert [f.split(":")[0] for f in tally.failures] == [
        "unit 1, attempt 1", "unit 1, attempt 2", "unit 1, attempt 3", "unit 1, attempt 4",
        "unit 2", "unit 3, judge, attempt 1", "unit 3, judge, attempt 2",
        "unit 3, judge, attempt 3", "unit 3, judge, attempt 4"]
    assert all(f.endswith("; retrying in 0 s") for f in tally.failures[:3])
    assert tally.failures[3].endswith("; unit lost")
    assert tally.failures[4] == "unit 2: the answer is not the JSON asked for"
    assert tally.failures[-1].endswith("; example rejected")
    # Every rejection has its evidence: which unit, what the model said, why.
    counted: Counter[str] = Counter()
    for reject in tally.rejects:
        counted[reject["reason"]] += reject.get("count", 1)
    assert counted == tally.rejected
    evidence = {r["reason"]: r for r in reversed(tally.rejects)}  # the first of each
    assert evidence["lm_error"]["unit"] == "unit 1" and "injected 500" in \
        evidence["lm_error"]["detail"]
    assert evidence["malformed"]["count"] == 2 and evidence["malformed"]["answer"] == \
        "[[ ## completed ## ]]"  # what the server said to a prompt with no fields
    assert evidence["invalid"]["candidate"]["outputs"]["explanation"] == "short"
    assert "$.outputs" in evidence["invalid"]["detail"]
    assert evidence["near_duplicate"]["detail"] == \
        "near duplicate of 01JE3000000000000000000001"
    assert evidence["quality"]["quality"]["score"] == 0.55
    assert "injected 500" in evidence["judge_error"]["detail"]

    added = [line.record for line in read_lines(target)][-1:]
    assert target.read_bytes().startswith(before)  # appended: nothing before it changed
    assert [r["id"] for r in added] == tally.accepted
    [record] = added
    assert record["inputs"] == good["inputs"]
    assert record["metadata"]["quality"]["score"] == 0.6
    assert record["metadata"]["quality"]["accuracy"] == 0.5


def test_bootstrap_counts_an_invalid_prompt_and_labels_the_rest(root: Path, monkeypatch):
    prompts = root / "datasets" / SIG / "prompts.jsonl"
    write_records(prompts, [
        {"id": "01JE3000000000000000000011",
         "inputs": {"user_intent": "Send a weekly digest of new comments to each author",
                    "implementation": "def digest(author): send(author, comments(7))"},
         "metadata": {"source": "imported", "created_at": "2026-11-20T10:00:00Z"}},
        {"id": "01JE3000000000000000000012", "inputs": {"user_intent": "no code given"},
         "metadata": {"source": "imported", "created_at": "2026-11-20T10:00:00Z"}}])
    with LMServer() as server:
        monkeypatch.setenv("TF_LM_MODEL", "openai/test-model")
        monkeypatch.setenv("TF_LM_API_BASE", server.api_base)
        monkeypatch.setenv("DSPY_CACHEDIR", str(root / ".dspy_cache"))
        summary = bootstrap(Project(root), SIG)
    assert dict(summary.rejected) == {"invalid_prompt": 1}
    assert "prompts.jsonl:2" in summary.failures[0]
    [labelled] = [line.record for line in read_lines(root / "datasets" / SIG /
                                                      "bootstrap.jsonl")
                  if line.record["id"] in summary.accepted]
    assert labelled["metadata"]["provenance"]["origin"] == \
        "prompts.jsonl:01JE3000000000000000000011"
