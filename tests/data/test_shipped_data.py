"""The data this repository ships, held to the bar its README promises: every example of a
signature distinct from every other, not a paraphrase of it.

Unlike the rest of the suite this reads datasets/ as it is: it is the gate on the shipped
data, not a test of tf. Run it as a script to see the closest pairs:
`python -m tests.data.test_shipped_data [SIGNATURE]`.
"""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]
SIGNATURES = sorted(p.name for p in (REPO / "datasets").iterdir() if p.is_dir())
MAX_SHARED = 0.6  # the largest Jaccard similarity of two examples' word 5-shingles
_WORD = re.compile(r"\w+")


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def shingles(example: dict, size: int = 5) -> set[tuple[str, ...]]:
    """The example's word 5-shingles over the text of its inputs and outputs."""
    words = _WORD.findall(" ".join(_strings([example.get("inputs"), example.get("outputs")]))
                          .lower())
    return {tuple(words[i:i + size]) for i in range(max(len(words) - size + 1, 1))}


def curated(signature: str) -> list[dict]:
    path = REPO / "datasets" / signature / "examples.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def closest_pairs(signature: str) -> list[tuple[float, str, str]]:
    """Every pair of the signature's curated examples, most similar first."""
    examples = [(e["id"], shingles(e)) for e in curated(signature)]
    pairs = [(len(a & b) / len(a | b), x, y)
             for (x, a), (y, b) in itertools.combinations(examples, 2)]
    return sorted(pairs, reverse=True)


@pytest.mark.parametrize("signature", SIGNATURES)
def test_no_two_examples_share_most_of_their_text(signature: str):
    too_close = [p for p in closest_pairs(signature) if p[0] > MAX_SHARED]
    assert not too_close, f"{signature}: pairs sharing over {MAX_SHARED:.0%} of their " \
                          f"5-shingles: {too_close[:5]}"


if __name__ == "__main__":
    for name in sys.argv[1:] or SIGNATURES:
        top = closest_pairs(name)[:3]
        print(name, " ".join(f"{score:.2f}({x[-6:]},{y[-6:]})" for score, x, y in top))


def test_completion_buckets_mean_what_the_guide_means(tmp_path: Path):
    """The shipped coverage.yaml's completion dimension: full (nothing missing), nearly (1-2
    missing), partial (3 or more, not most), barely (most missing)."""
    import shutil

    from tests.conftest import run_tf

    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copy(REPO / "coverage.yaml", tmp_path / "coverage.yaml")
    folder = tmp_path / "datasets/validate_completeness"
    folder.mkdir(parents=True)
    cases = {(8, 0): "full", (8, 1): "nearly", (4, 2): "nearly", (8, 3): "partial",
             (10, 5): "partial", (6, 3): "partial", (4, 3): "barely", (8, 5): "barely",
             (12, 12): "barely"}
    lines = []
    for n, ((total, missing), _) in enumerate(cases.items()):
        requirements = [f"Case {n} requirement number {i}" for i in range(total)]
        lines.append(orjson.dumps({
            "id": f"01JE{n:022d}",
            "inputs": {"implementation": f"def case_{n}(): pass", "requirements": requirements},
            "outputs": {"is_complete": missing == 0, "missing_requirements": requirements[:missing],
                        "explanation": f"Case {n}: {missing} of {total} are not implemented."},
            "metadata": {"source": "manual", "difficulty": "easy", "category": "api"}}))
    (folder / "examples.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = run_tf("coverage", "-s", "validate_completeness", "--format", "json", cwd=tmp_path)
    assert result.exit_code in (0, 1), result
    counted = orjson.loads(result.stdout)["signatures"][0]["dimensions"]["completion"]
    expected: dict[str, int] = {}
    for bucket in cases.values():
        expected[bucket] = expected.get(bucket, 0) + 1
    assert {k: v for k, v in counted.items() if v} == expected


def test_the_shipped_data_meets_every_requirement_as_an_error():
    """Every coverage requirement of the shipped coverage.yaml is an error (CI holds the line)
    and the shipped data meets all of them, each signature at or above its target."""
    from tests.conftest import run_tf

    assert "level: warn" not in (REPO / "coverage.yaml").read_text()
    assert "\ncoverage:" not in (REPO / "params.yaml").read_text()
    result = run_tf("check", cwd=REPO)
    assert result.exit_code == 0, result.stdout[-2000:]
    assert "0 validation problems, 0 error requirements failed, 0 warnings" in \
        result.stdout + result.stderr
    status = run_tf("coverage", "--format", "json", cwd=REPO)
    for entry in orjson.loads(status.stdout)["signatures"]:
        assert entry["examples"] >= entry["target_examples"], entry["signature"]
