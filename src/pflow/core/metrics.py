"""Run metrics: wall-clock timings of the workflow and its nodes plus LLM token usage and cost."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pflow.core.pricing import cost_usd


@dataclass
class _LlmTotals:
    """Token and cost totals over a list of LLM call records."""

    tokens_input: int = 0
    tokens_output: int = 0
    priced_cost: float = 0.0
    models: set[str] = field(default_factory=set)
    unpriced: set[str] = field(default_factory=set)

    @property
    def tokens_total(self) -> int:
        return self.tokens_input + self.tokens_output

    @property
    def cost(self) -> float | None:
        """Total cost rounded to 6 decimals, or None when any model has no known price."""
        return None if self.unpriced else round(self.priced_cost, 6)


def _as_int(value: Any) -> int:
    """A token count from a call record; missing or unusable values count as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


def _totals(llm_calls: Sequence[Mapping[str, Any]]) -> _LlmTotals:
    totals = _LlmTotals()
    for call in llm_calls:
        model = str(call.get("model") or "unknown")
        tokens_in = _as_int(call.get("input_tokens"))
        tokens_out = _as_int(call.get("output_tokens"))
        totals.tokens_input += tokens_in
        totals.tokens_output += tokens_out
        totals.models.add(model)
        cost = cost_usd(model, tokens_in, tokens_out)
        if cost is None:
            totals.unpriced.add(model)
        else:
            totals.priced_cost += cost
    return totals


def _ms(start: float, end: float, digits: int) -> float:
    return round((end - start) * 1000.0, digits)


class MetricsCollector:
    """Collects timings during one run; `get_summary` turns them into the JSON metrics block."""

    def __init__(self) -> None:
        self._created = time.perf_counter()
        self._workflow_start: float | None = None
        self._workflow_end: float | None = None
        self._node_timings: dict[str, float] = {}

    def record_workflow_start(self) -> None:
        """Mark the moment the flow begins executing."""
        self._workflow_start = time.perf_counter()

    def record_workflow_end(self) -> None:
        """Mark the moment the flow stops executing (success or failure)."""
        self._workflow_end = time.perf_counter()

    def record_node_execution(self, node_id: str, duration_ms: float) -> None:
        """Record how long `node_id` took; a re-run replaces the earlier timing."""
        self._node_timings[node_id] = float(duration_ms)

    def _workflow_duration(self) -> float | None:
        if self._workflow_start is None or self._workflow_end is None:
            return None
        return _ms(self._workflow_start, self._workflow_end, 2)

    def get_summary(self, llm_calls: list[dict[str, Any]]) -> dict[str, Any]:
        """Summary of the run so far, including LLM usage from `llm_calls` records."""
        totals = _totals(llm_calls)
        metrics: dict[str, Any] = {}
        if self._node_timings:
            metrics["workflow"] = {
                "duration_ms": self._workflow_duration(),
                "nodes_executed": len(self._node_timings),
                "cost_usd": totals.cost,
                "tokens_input": totals.tokens_input,
                "tokens_output": totals.tokens_output,
                "tokens_total": totals.tokens_total,
                "models_used": sorted(totals.models),
                "node_timings": {k: round(v, 3) for k, v in self._node_timings.items()},
            }
        total: dict[str, Any] = {
            "tokens_input": totals.tokens_input,
            "tokens_output": totals.tokens_output,
            "tokens_total": totals.tokens_total,
            "cost_usd": totals.cost,
        }
        if totals.unpriced:
            total["pricing_available"] = False
            total["unavailable_models"] = sorted(totals.unpriced)
            total["partial_cost_usd"] = round(totals.priced_cost, 6)
        metrics["total"] = total
        return {
            "duration_ms": _ms(self._created, time.perf_counter(), 2),
            "total_cost_usd": totals.cost,
            "nodes_executed": len(self._node_timings),
            "metrics": metrics,
        }
