"""Tests for pflow.core.pricing."""

from __future__ import annotations

import pytest

from pflow.core.pricing import cost_usd, has_price


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", 0.15 + 0.60),
        ("gpt-4o", 2.50 + 10.00),
        ("claude-sonnet-4-0", 3.0 + 15.0),
        ("anthropic/claude-sonnet-4-0", 3.0 + 15.0),
        ("claude-3-5-haiku-latest", 0.80 + 4.00),
        ("gemini-2.5-flash", 0.30 + 2.50),
    ],
)
def test_known_models_per_million(model: str, expected: float):
    assert cost_usd(model, 1_000_000, 1_000_000) == pytest.approx(expected)
    assert has_price(model)


def test_input_and_output_priced_separately():
    assert cost_usd("gpt-4o", 1000, 0) == pytest.approx(0.0025)
    assert cost_usd("gpt-4o", 0, 1000) == pytest.approx(0.01)
    assert cost_usd("gpt-4o", 0, 0) == 0


def test_unknown_model_has_no_price():
    assert cost_usd("my-local-llama", 10, 10) is None
    assert not has_price("my-local-llama")
