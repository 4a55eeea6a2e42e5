"""Quality scores in [0, 1] for generated and labelled examples.

`rules`: cheap checks every example gets (no one-word long texts, no placeholder text,
free-text outputs that are not copies of inputs, no empty list items). With `quality.judge`
on and an LM configured, an LM judge adds accuracy, coherence, relevance and educational
value with a short reason. `score` is the mean; the validate stage drops examples below
`quality.reject_below`, and balance keeps higher scores first.
"""

from __future__ import annotations

import re

from tf_cli.examples import text_values
from tf_cli.schemas import Signature

_PLACEHOLDER = re.compile(r"\b(todo|tbd|lorem ipsum|placeholder)\b|<insert|\.\.\.$", re.I)
JUDGED = ("accuracy", "coherence", "relevance", "educational_value")


def rule_score(record: dict) -> float:
    inputs, outputs = record.get("inputs", {}), record.get("outputs", {})
    texts = text_values(inputs) + text_values(outputs)
    checks = [
        all(len(t.split()) >= 2 or len(t) <= 40 for t in texts),  # short labels are fine
        not any(_PLACEHOLDER.search(t.strip()) for t in texts),
        # free-text outputs that merely repeat an input (list items may copy, by design)
        not {v for v in outputs.values() if isinstance(v, str)}
        & {t for t in text_values(inputs) if len(t) > 20},
        all(len(t.strip()) >= 2 for t in texts),
    ]
    return sum(checks) / len(checks)


def make_judge(signature: Signature):
    """A DSPy program scoring one example of `signature` on the four judged criteria."""
    import dspy

    fields: dict[str, tuple[type, object]] = {
        "task": (str, dspy.InputField(desc="What the DSPy signature must do.")),
        "example": (str, dspy.InputField(desc="One training example as JSON."))}
    for name in JUDGED:
        fields[name] = (float, dspy.OutputField(desc=f"{name.replace('_', ' ')}, 0 to 1"))
    fields["reason"] = (str, dspy.OutputField(desc="One sentence on the weakest point."))
    instructions = ("Judge one training example for a language-model task. Score how "
                    "accurate its labels are, how coherent and relevant it is, and how much "
                    "a model would learn from it, each from 0 to 1.")
    return dspy.Predict(dspy.Signature(fields, instructions))


def judge_outputs() -> dict:
    """The JSON Schema of the judge's answer (its response format when constrained)."""
    return {"type": "object", "properties": {
        **{name: {"type": "number", "minimum": 0, "maximum": 1} for name in JUDGED},
        "reason": {"type": "string"}}}


def score(record: dict, signature: Signature, judge=None, client=None,
          adapter=None) -> dict:
    """The example's quality dict: rules, judged criteria (if a judge is given, run with
    `client` and `adapter`), score."""
    import orjson

    quality: dict[str, float | str] = {"rules": round(rule_score(record), 3)}
    if judge is not None:
        from tf_cli.dspy_io import predict

        example = orjson.dumps({"inputs": record["inputs"], "outputs": record["outputs"]})
        verdict = predict(judge, adapter, client, task=signature.instructions,
                          example=example.decode())
        for name in JUDGED:
            quality[name] = round(min(1.0, max(0.0, float(verdict[name]))), 3)
        quality["reason"] = str(verdict.reason)[:300]
    numbers = [float(v) for k, v in quality.items() if k != "reason"]
    quality["score"] = round(sum(numbers) / len(numbers), 3)
    return quality
