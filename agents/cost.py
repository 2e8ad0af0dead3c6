"""Usage, prices and budgets. Budgets are checked before each call with a worst-case estimate."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from agents.events import UsageRecorded

FREE_PROVIDERS = ("local/",)


@dataclass(frozen=True)
class Price:
    input_per_token: float
    output_per_token: float


def price_of(model: str) -> Price | None:
    """The model's price from litellm's local price map; None when unknown ("unpriced")."""
    if model.startswith(FREE_PROVIDERS):
        return Price(0.0, 0.0)
    return _litellm_price(model)


@functools.lru_cache(maxsize=256)
def _litellm_price(model: str) -> Price | None:
    """Looked up once per model: litellm's map is fixed for the process (an unknown model costs
    an exception per lookup otherwise, every call of every turn)."""
    from agents.llm.setup import load_litellm

    litellm = load_litellm()
    try:
        info: dict[str, Any] = litellm.get_model_info(model)
    except Exception:
        return None
    inp, out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if inp is None or out is None:
        return None
    return Price(float(inp), float(out))


def call_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    price = price_of(model)
    if price is None:
        return None
    return prompt_tokens * price.input_per_token + completion_tokens * price.output_per_token


def estimate_prompt_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    """A deliberately high estimate of the prompt's tokens (never below the real count in
    practice: the larger of the tokenizer count and one token per three characters, plus 15%)."""
    text = json.dumps(messages, ensure_ascii=False)
    rough = len(text) // 3 + 16
    counted = 0
    if not model.startswith(FREE_PROVIDERS):
        from agents.llm.setup import load_litellm

        try:
            counted = int(load_litellm().token_counter(model=model, messages=messages))
        except Exception:
            counted = 0
    return int(max(rough, counted) * 1.15) + 16


def prompt_tokens_bound(messages: list[dict[str, Any]]) -> int:
    """An upper bound of :func:`estimate_prompt_tokens` without running a tokenizer: a token is
    at least one byte, so the prompt's UTF-8 bytes (plus a margin for each message's framing
    tokens) bound the tokenizer's count, and they bound the one-per-three-characters guess."""
    text = json.dumps(messages, ensure_ascii=False)
    return int((len(text.encode()) + 8 * len(messages) + 16) * 1.15) + 16


def worst_case_bound(model: str, messages: list[dict[str, Any]],
                     max_tokens: int) -> float | None:
    """At least :func:`worst_case_cost`, in microseconds: when a call fits the budget with this,
    it fits with the exact estimate too, and the tokenizer (~1 ms a call) is not needed."""
    price = price_of(model)
    if price is None:
        return None
    if price.input_per_token == 0 and price.output_per_token == 0:
        return 0.0
    prompt = prompt_tokens_bound(messages)
    return prompt * price.input_per_token + max_tokens * price.output_per_token


def worst_case_cost(model: str, messages: list[dict[str, Any]], max_tokens: int) -> float | None:
    price = price_of(model)
    if price is None:
        return None
    if price.input_per_token == 0 and price.output_per_token == 0:
        return 0.0
    prompt = estimate_prompt_tokens(model, messages)
    return prompt * price.input_per_token + max_tokens * price.output_per_token


@dataclass
class AgentCost:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    unpriced_calls: int = 0

    @property
    def avg_latency_ms(self) -> float:
        return self.latency_ms / self.calls if self.calls else 0.0

    def add(self, event: UsageRecorded) -> None:
        self.calls += 1
        self.prompt_tokens += event.prompt_tokens
        self.completion_tokens += event.completion_tokens
        self.latency_ms += event.latency_ms
        if event.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_usd += event.cost_usd


@dataclass
class CostLedger:
    """Totals per persona, orchestration overhead apart, and cost per turn."""

    agents: dict[str, AgentCost] = field(default_factory=dict)
    overhead: AgentCost = field(default_factory=AgentCost)
    per_turn: dict[int, float] = field(default_factory=dict)

    def record(self, event: UsageRecorded) -> None:
        if event.overhead:
            self.overhead.add(event)
        else:
            self.agents.setdefault(event.agent, AgentCost()).add(event)
        self.per_turn[event.turn] = self.per_turn.get(event.turn, 0.0) + (event.cost_usd or 0.0)

    @property
    def total_usd(self) -> float:
        return self.overhead.cost_usd + sum(a.cost_usd for a in self.agents.values())

    @property
    def unpriced(self) -> bool:
        return self.overhead.unpriced_calls > 0 or any(
            a.unpriced_calls for a in self.agents.values()
        )

    def spent_by(self, agent: str) -> float:
        entry = self.agents.get(agent)
        return entry.cost_usd if entry else 0.0

    @property
    def total_tokens(self) -> int:
        parts = [self.overhead, *self.agents.values()]
        return sum(p.prompt_tokens + p.completion_tokens for p in parts)


@dataclass(frozen=True)
class BudgetVerdict:
    allowed: bool
    reason: str = ""
    scope: str = ""  # "session" or "persona"


def check_budget(
    ledger: CostLedger,
    *,
    agent: str,
    overhead: bool,
    estimate: float | None,
    session_usd: float | None,
    per_persona_usd: float | None,
    elsewhere_usd: float = 0.0,
    in_flight_usd: float = 0.0,
    in_flight_agent_usd: float = 0.0,
) -> BudgetVerdict:
    """May a call with this worst-case cost go ahead without any budget being overspent?

    ``elsewhere_usd`` is what the session spent on other branches; ``in_flight_usd`` (and
    ``in_flight_agent_usd`` for this persona) the worst cases of calls still running."""
    if estimate is None:
        return BudgetVerdict(True)  # unpriced: tokens are shown, the budget cannot apply
    committed = ledger.total_usd + elsewhere_usd + in_flight_usd
    if session_usd is not None and committed + estimate > session_usd:
        return BudgetVerdict(
            False,
            f"the next call could cost up to ${estimate:.4f}, which would pass the session "
            f"budget of ${session_usd:.4f} (spent ${ledger.total_usd + elsewhere_usd:.4f})",
            "session",
        )
    if not overhead and per_persona_usd is not None:
        spent = ledger.spent_by(agent) + in_flight_agent_usd
        if spent + estimate > per_persona_usd:
            return BudgetVerdict(
                False,
                f"{agent}'s next call could cost up to ${estimate:.4f}, which would pass its "
                f"budget of ${per_persona_usd:.4f} (spent ${spent:.4f})",
                "persona",
            )
    return BudgetVerdict(True)
