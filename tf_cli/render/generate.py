"""The summary of `tf generate` for people (`--format json` prints `Summary.to_json()`)."""

from __future__ import annotations


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
        f"accepted {data['accepted']} of {data['planned']} planned in {data['calls']} LM calls "
        f"({per_accepted}); rejected: {data['rejected'] or 'none'}",
        f"tokens: {data['prompt_tokens']} prompt, {data['completion_tokens']} completion; "
        f"cost {data['cost']}",
        # Planning counts examples waiting for review; coverage counts them once approved.
        f"once the pending examples are approved: synthetic share "
        f"{data['synthetic_share']:.0%}, examples the gaps need "
        f"{data['gap_examples_needed_before']} -> {data['gap_examples_needed_after']}; "
        f"diversity {data['diversity_before']} -> {data['diversity_after']}"]
    if data["accepted"]:
        lines.append(f"review them: tf review --signature {signature}")
    return lines
