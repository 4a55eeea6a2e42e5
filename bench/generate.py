"""Benchmark `tf generate`: LM calls per accepted example, batched against one per call.

    python bench/generate.py N        (N examples to generate; default 100)

Runs `tf generate` twice against the local test server (tests/lm_server.py, on 127.0.0.1)
and reads the server's own request counter: once at --batch-size 5, once at --batch-size 1
(one example per call, the usual default of generators). Prints calls per accepted
example for both, their ratio, and the acceptance rate. Goal (issue 6): at most 0.25
calls per accepted example at batch size 5. The count includes tf's one reachability
probe per run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO

sys.path.insert(0, str(REPO))
from tests.lm_server import LMServer  # noqa: E402

PARAMS = """\
coverage:
  signatures:
    validate_completeness:
      min_examples: 1
      target_examples: 1000
      dimensions:
        completion:
          sql: >-
            CASE WHEN outputs.is_complete THEN 'full'
                 WHEN len(outputs.missing_requirements) * 2 > len(inputs.requirements)
                 THEN 'barely' ELSE 'partial' END
          buckets: [full, partial, barely]
lm: {model: openai/test-model, cache: false, num_threads: 2}
"""


def run(n: int, batch_size: int) -> tuple[int, dict]:
    with tempfile.TemporaryDirectory() as tmp, LMServer() as server:
        project = Path(tmp)
        shutil.copytree(REPO / "schemas", project / "schemas")
        (project / "datasets").mkdir()
        (project / "params.yaml").write_text(PARAMS)
        env = {**os.environ, "TF_LM_API_BASE": server.api_base,
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", "DSPY_CACHEDIR": str(project / ".c")}
        done = subprocess.run([sys.executable, "-m", "tf_cli", "generate", "-s",
                               "validate_completeness", "--count", str(n), "--batch-size",
                               str(batch_size), "--format", "json"], cwd=project, env=env,
                              capture_output=True, text=True, check=True)
        return server.state.requests, json.loads(done.stdout)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    batched_calls, batched = run(n, 5)
    single_calls, single = run(n, 1)
    per_batched = batched_calls / batched["accepted"]
    per_single = single_calls / single["accepted"]
    print(f"examples planned:        {n}")
    print(f"batch size 5:            {batched_calls} server requests, {batched['accepted']} "
          f"accepted -> {per_batched:.3f} calls per accepted example "
          f"(acceptance {batched['acceptance_rate']:.0%})")
    print(f"batch size 1 (baseline): {single_calls} server requests, {single['accepted']} "
          f"accepted -> {per_single:.3f} calls per accepted example "
          f"(acceptance {single['acceptance_rate']:.0%})")
    print(f"ratio:                   {per_single / per_batched:.1f}x fewer calls per example")


if __name__ == "__main__":
    main()
