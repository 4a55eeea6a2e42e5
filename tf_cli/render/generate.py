"""The summaries of `tf generate` and `tf bootstrap` for people (`--format json` prints
their `to_json()`)."""

from __future__ import annotations

from tf_cli.words import plural


def summary_lines(data: dict, failures: list[str], signature: str) -> list[str]:
    """`data` is the run's summary as JSON (tf_cli.generate's Summary.to_json())."""
    if not data["planned"]:  # nothing to do: no LM call was made
        return [f"nothing to generate for {signature}: {'; '.join(data['limits'])}"]
    per_accepted = (f"{data['calls_per_accepted']} calls per accepted example"
                    if data["calls_per_accepted"] is not None else "none accepted")
    lines = [f"failed: {failure}" for failure in failures]
    if data["planned"] < data["requested"]:
        lines.append(f"planned {data['planned']} of {data['requested']}: "
                     + "; ".join(data["limits"]))
    lines += [
        f"accepted {data['accepted']} of {data['planned']} planned in "
        f"{plural(data['calls'], 'LM call')} ({per_accepted}); "
        f"rejected: {rejections(data['rejected'])}",
        f"tokens: {data['prompt_tokens']:,} prompt, {data['completion_tokens']:,} completion; "
        f"cost ${data['cost']:.4f} (as LiteLLM prices the model; 0 for a local one)",
        # Planning counts examples waiting for review; coverage counts them once approved.
        f"once the pending examples are approved: synthetic share "
        f"{data['synthetic_share']:.0%}, examples the gaps need "
        f"{data['gap_examples_needed_before']} -> {data['gap_examples_needed_after']}; "
        f"diversity {_measured(data['diversity_before'])} -> "
        f"{_measured(data['diversity_after'])}"]
    if data["accepted"]:
        lines.append(f"review them: tf review --signature {signature}")
    return lines


def bootstrap_lines(data: dict, signature: str) -> list[str]:
    """`data` is the run's summary as JSON (tf_cli.bootstrap's BootstrapSummary.to_json())."""
    lines = [f"failed: {failure}" for failure in data["failures"]]
    lines += [
        f"{plural(data['prompts'], 'prompt')}: {data['already_labelled']} labelled before, "
        f"{data['accepted']} labelled now in {plural(data['calls'], 'LM call')}; "
        f"rejected: {rejections(data['rejected'])}"]
    if data["accepted"]:
        lines.append(f"review them: tf review --signature {signature}")
    return lines


def rejections(rejected: dict[str, int]) -> str:
    """{"duplicate": 2, "wrong_cell": 1} as "duplicate 2, wrong cell 1" ("none" when
    empty)."""
    return ", ".join(f"{reason.replace('_', ' ')} {count}"
                     for reason, count in rejected.items()) or "none"


def _measured(value: float | None) -> str:
    return "not measured" if value is None else str(value)
