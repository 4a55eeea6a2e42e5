"""From the JSON Schema to DSPy: the signature, dspy.Example records, the metric, programs.

The schema is the single source of truth: field names, Python types (Literal for enums,
list[...] for arrays), descriptions and the instructions (the schema's description) all
come from it, so a saved program can be rebuilt from the schema and its state loaded.

The convert stage writes each signature's data set as JSON:
    {"signature": name, "instructions": str, "input_keys": [...], "output_keys": [...],
     "train": [{"id": ..., field: value, ...}], "dev": [...]}
so `input_keys` survive (dspy.Example.toDict() drops them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from functools import cache
from typing import Any, Literal

from tf_cli import lm as _lm  # noqa: F401  sets LITELLM_LOCAL_MODEL_COST_MAP before DSPy runs
from tf_cli.errors import ConfigError, TfError
from tf_cli.layout import PARAMS_FILE
from tf_cli.problems import Problem
from tf_cli.schemas import SchemaLoader, Signature
from tf_cli.settings import MetricSettings

PROGRAMS = ("predict", "chain_of_thought")


def python_type(loader: SchemaLoader, node: dict, signature: Signature, name: str = "Field"):
    node = loader.resolve(node, signature)
    if "enum" in node:
        return Literal[tuple(node["enum"])]
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    simple = {"string": str, "integer": int, "number": float, "boolean": bool}
    if kind in simple:
        return simple[kind]
    if kind == "array":
        item = python_type(loader, node.get("items", {}), signature, name)
        return list[item]  # type: ignore[valid-type]  # a type built at run time
    if kind == "object" and node.get("properties"):
        import pydantic

        required = set(node.get("required", ()))
        fields = {key: (python_type(loader, sub, signature, key) if key in required else
                        python_type(loader, sub, signature, key) | None,
                        ... if key in required else None)
                  for key, sub in node["properties"].items()}
        return pydantic.create_model(  # type: ignore[call-overload]  # fields built at run time
            name.title().replace("_", ""), **fields)
    return Any if kind is None else dict[str, Any]


def dspy_signature(loader: SchemaLoader, signature: Signature):
    """The dspy.Signature class described by the schema."""
    import dspy

    fields = {}
    for part, make in (("inputs", dspy.InputField), ("outputs", dspy.OutputField)):
        schema = loader.resolve(signature.schema["properties"][part], signature)
        required = set(schema.get("required", ()))
        for name, node in schema.get("properties", {}).items():
            resolved = loader.resolve(node, signature)
            kind = python_type(loader, resolved, signature, name)
            if part == "inputs" and name not in required:
                kind = kind | None
            fields[name] = (kind, make(desc=resolved.get("description", "")))
    return dspy.Signature(fields, signature.instructions or signature.name)


def keys(signature: Signature, part: str) -> list[str]:
    return list(signature.fields(part))


def number_fields(loader: SchemaLoader, signature: Signature) -> set[str]:
    """Fields of JSON type "number": DSPy types them float, so 4 must arrive as 4.0."""
    return {name for part in ("inputs", "outputs")
            for name, node in signature.fields(part).items()
            if loader.resolve(node, signature).get("type") == "number"}


def flatten(record: dict, signature: Signature, floats: AbstractSet[str] = frozenset()) -> dict:
    """A stored example as DSPy's flat record: id, then input and output fields."""
    flat = {"id": record["id"]}
    for part in ("inputs", "outputs"):
        for name in keys(signature, part):
            value = record[part].get(name)
            flat[name] = float(value) if name in floats and isinstance(value, int) else value
    return flat


def to_examples(flat_records: list[dict], input_keys: list[str]) -> list:
    import dspy

    return [dspy.Example(**flat).with_inputs(*input_keys) for flat in flat_records]


def check_examples(examples: list, loader: SchemaLoader, signature: Signature) -> list[Problem]:
    """Every example has every required field, of the type the DSPy signature declares."""
    import pydantic

    problems = []
    adapters = {}
    for part in ("inputs", "outputs"):
        schema = loader.resolve(signature.schema["properties"][part], signature)
        required = set(schema.get("required", ()))
        for name, node in schema.get("properties", {}).items():
            kind = python_type(loader, node, signature, name)
            if name not in required:
                kind = kind | None
            adapters[name] = pydantic.TypeAdapter(kind)
    for example in examples:
        for name, adapter in adapters.items():
            try:
                adapter.validate_python(example.get(name), strict=True)
            except pydantic.ValidationError as exc:
                problems.append(Problem(f"{signature.name}:{example.get('id')}",
                                        exc.errors()[0]["msg"], pointer=f"$.{name}"))
    return problems


# ---- the metric -------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(str(text).lower())


def _f1(predicted: list, expected: list) -> float:
    if not predicted and not expected:
        return 1.0
    if not predicted or not expected:
        return 0.0
    from collections import Counter

    common = sum((Counter(predicted) & Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _normalized(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


def field_scorer(node: dict, tolerance: float) -> Callable[[Any, Any], float]:
    """How one output field is scored: exact for booleans and enums, set F1 for lists of
    strings, closeness for numbers, token F1 for free text."""
    kind = node.get("type")
    if "enum" in node or kind == "boolean":
        return lambda got, want: float(got == want)
    if kind in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        span = (high - low) if low is not None and high is not None else 1.0
        allowed = max(tolerance * span, 1e-9)

        def closeness(got, want):
            try:
                return max(0.0, 1.0 - abs(float(got) - float(want)) / allowed)
            except (TypeError, ValueError):
                return 0.0

        return closeness
    if kind == "array":
        item_kind = node.get("items", {}).get("type")
        if item_kind == "string" or "$ref" in node.get("items", {}):
            return lambda got, want: _f1(sorted({_normalized(x) for x in got or []}),
                                         sorted({_normalized(x) for x in want or []}))
        return lambda got, want: float(list(got or []) == list(want or []))
    return lambda got, want: _f1(_tokens(got or ""), _tokens(want or ""))


def make_metric(loader: SchemaLoader, signature: Signature, options: MetricSettings):
    """metric(example, prediction, trace=None): weighted mean of the field scores; a bool
    (score >= pass_threshold) while bootstrapping, as DSPy expects."""
    schema = loader.resolve(signature.schema["properties"]["outputs"], signature)
    excluded, weights = set(options.exclude), options.weights
    tolerance, threshold = float(options.tolerance), float(options.pass_threshold)
    unknown = (excluded | set(weights)) - set(schema.get("properties", {}))
    if unknown:
        raise ConfigError([Problem(PARAMS_FILE, f"optimize.metric names unknown output field "
                                   f'"{sorted(unknown)[0]}" of {signature.name}', config=True)])
    scorers = {name: (field_scorer(loader.resolve(node, signature), tolerance),
                      float(weights.get(name, 1.0)))
               for name, node in schema.get("properties", {}).items() if name not in excluded}
    total = sum(w for _, w in scorers.values()) or 1.0

    def metric(example, prediction, trace=None):
        score = 0.0
        for name, (scorer, weight) in scorers.items():
            try:
                got = prediction[name]
            except (KeyError, AttributeError):
                got = None
            score += weight * scorer(got, example[name])
        score /= total
        return score >= threshold if trace is not None else score

    return metric


def make_program(signature_class, kind: str):
    import dspy

    if kind not in PROGRAMS:
        raise TfError(f'optimize.program "{kind}" is not one of {", ".join(PROGRAMS)}')
    return dspy.ChainOfThought(signature_class) if kind == "chain_of_thought" \
        else dspy.Predict(signature_class)



def outputs_schema(loader: SchemaLoader, signature: Signature) -> dict:
    """The signature's outputs schema, references followed: a program's response format."""
    return loader.inline(signature.schema["properties"]["outputs"], signature)


def schema_adapter(outputs: dict, name: str, constraint):
    """The DSPy adapter for a program run with a client whose requests are constrained
    (`tf_cli.structured.Constraint`): DSPy's JSONAdapter with `outputs` (the JSON Schema of
    the program's outputs) as the response format; or None, DSPy's default adapter, when
    the run sends no response format."""
    if constraint is None or not constraint.active:
        return None
    return _schema_adapter_class()(outputs, name)


def predict(program, adapter, client, **inputs):
    """`program(**inputs)` with `client` and `adapter`; an answer the adapter cannot parse
    raises NotParsed with the answer, for the evidence."""
    import dspy
    from dspy.utils.exceptions import AdapterParseError

    from tf_cli.structured import NotParsed

    try:
        with dspy.context(lm=client, **({"adapter": adapter} if adapter is not None else {})):
            return program(**inputs)
    except AdapterParseError as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise NotParsed(f"the answer could not be parsed: {first}",
                        str(exc.lm_response or "")) from None


@cache
def _schema_adapter_class():
    """Built on first use: dspy is imported only by the commands that need it."""
    import dspy

    from tf_cli.structured import response_format

    class SchemaAdapter(dspy.JSONAdapter):
        """JSONAdapter whose response format is the tf schema of the outputs (plus, as
        strings, the fields a program adds, such as ChainOfThought's reasoning), in the
        order DSPy asks for them; the server may refuse it (tf_cli.lm steps down)."""

        def __init__(self, outputs: dict, name: str):
            super().__init__(use_native_function_calling=False)
            self.tf_outputs, self.tf_name = outputs, name

        def _prepare_response_format(self, lm, lm_kwargs, signature):
            declared = self.tf_outputs.get("properties", {})
            properties = {name: declared.get(name, {"type": "string"})
                          for name in signature.output_fields}
            lm_kwargs["response_format"] = response_format(
                self.tf_name, {"type": "object", "properties": properties,
                               "required": list(properties)})

    return SchemaAdapter


class InvalidPrediction(TfError):
    """A checked program's prediction breaks the signature's schema or rules (`problems`);
    the prediction itself is kept on the error. DSPy's Evaluate counts it as a failure."""

    exit_code = 1

    def __init__(self, signature: str, prediction, problems: list[Problem]):
        super().__init__(f"{signature}: the prediction breaks its schema or rules: "
                         + "; ".join(f"{p.pointer}: {p.message}" for p in problems[:5]))
        self.prediction, self.problems = prediction, problems


def prediction_problems(signature: Signature, inputs: dict, prediction) -> list[Problem]:
    """What the schema and rules say of a prediction, as of an example with these inputs
    and the prediction's outputs."""
    from tf_cli.examples import complete
    from tf_cli.file_check import example_problems
    from tf_cli.layout import PRODUCTION

    outputs = {key: plain(prediction[key]) for key in keys(signature, "outputs")
               if key in prediction}
    record = complete({"inputs": inputs, "outputs": outputs,
                       "metadata": {"difficulty": "medium", "category": "prediction"}},
                      source=PRODUCTION)
    return example_problems(signature, record, f"{signature.name} prediction")


def checked(program, signature: Signature):
    """`program` wrapped so that each prediction is checked (`prediction_problems`): one
    that breaks the schema or rules raises InvalidPrediction instead of being returned."""
    import dspy

    class Checked(dspy.Module):
        def __init__(self):
            super().__init__()
            self.program = program

        def forward(self, **inputs):
            prediction = self.program(**inputs)
            problems = prediction_problems(signature, inputs, prediction)
            if problems:
                raise InvalidPrediction(signature.name, prediction, problems)
            return prediction

    return Checked()


def plain(value):
    """DSPy returns typed values; pydantic models become dicts for JSON."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
