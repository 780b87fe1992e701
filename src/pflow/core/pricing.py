"""Approximate LLM prices (USD per million tokens) used to estimate the cost of a run."""

from __future__ import annotations

# model id -> (input USD per 1M tokens, output USD per 1M tokens)
MODEL_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "claude-sonnet-4-0": (3.00, 15.00),
    "anthropic/claude-sonnet-4-0": (3.00, 15.00),
    "claude-3-5-haiku-latest": (0.80, 4.00),
    "anthropic/claude-3-5-haiku-latest": (0.80, 4.00),
    "gemini-2.5-flash": (0.30, 2.50),
}


def has_price(model: str) -> bool:
    """Whether `model` is in the price table."""
    return model in MODEL_PRICES


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Estimated cost of one call in USD, or None when `model` has no known price."""
    prices = MODEL_PRICES.get(model)
    if prices is None:
        return None
    input_price, output_price = prices
    return (input_tokens * input_price + output_tokens * output_price) / 1_000_000
