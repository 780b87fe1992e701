"""Tests for pflow.core.metrics.MetricsCollector."""

from __future__ import annotations

import json

import pytest

from pflow.core.metrics import MetricsCollector


def test_summary_without_nodes_or_calls():
    summary = MetricsCollector().get_summary([])
    assert list(summary) == ["duration_ms", "total_cost_usd", "nodes_executed", "metrics"]
    assert isinstance(summary["duration_ms"], float) and summary["duration_ms"] >= 0
    assert summary["total_cost_usd"] == 0
    assert summary["nodes_executed"] == 0
    assert summary["metrics"] == {
        "total": {"tokens_input": 0, "tokens_output": 0, "tokens_total": 0, "cost_usd": 0.0}
    }
    json.dumps(summary, allow_nan=False)


def test_summary_with_priced_calls():
    metrics = MetricsCollector()
    metrics.record_workflow_start()
    metrics.record_node_execution("fetch", 12.34567)
    metrics.record_node_execution("summarise", 800.0004)
    metrics.record_workflow_end()
    calls = [
        {"model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 500},
        {"model": "claude-sonnet-4-0", "input_tokens": 2000, "output_tokens": 1000},
    ]
    summary = metrics.get_summary(calls)
    assert summary["total_cost_usd"] == 0.02145
    assert summary["nodes_executed"] == 2
    workflow = summary["metrics"]["workflow"]
    assert list(workflow) == [
        "duration_ms",
        "nodes_executed",
        "cost_usd",
        "tokens_input",
        "tokens_output",
        "tokens_total",
        "models_used",
        "node_timings",
    ]
    assert isinstance(workflow["duration_ms"], float)
    assert workflow["nodes_executed"] == 2
    assert workflow["cost_usd"] == 0.02145
    assert (workflow["tokens_input"], workflow["tokens_output"]) == (3000, 1500)
    assert workflow["tokens_total"] == 4500
    assert workflow["models_used"] == ["claude-sonnet-4-0", "gpt-4o-mini"]
    assert workflow["node_timings"] == {"fetch": 12.346, "summarise": 800.0}
    assert summary["metrics"]["total"] == {
        "tokens_input": 3000,
        "tokens_output": 1500,
        "tokens_total": 4500,
        "cost_usd": 0.02145,
    }


def test_summary_with_unpriced_model():
    metrics = MetricsCollector()
    metrics.record_node_execution("ask", 5)
    calls = [
        {"model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 500},
        {"model": "zz-local", "input_tokens": 7},
        {"model": "aa-local", "output_tokens": 3},
        {"model": "zz-local"},
    ]
    summary = metrics.get_summary(calls)
    assert summary["total_cost_usd"] is None
    assert summary["metrics"]["workflow"]["cost_usd"] is None
    assert summary["metrics"]["workflow"]["models_used"] == ["aa-local", "gpt-4o-mini", "zz-local"]
    assert summary["metrics"]["total"] == {
        "tokens_input": 1007,
        "tokens_output": 503,
        "tokens_total": 1510,
        "cost_usd": None,
        "pricing_available": False,
        "unavailable_models": ["aa-local", "zz-local"],
        "partial_cost_usd": 0.00045,
    }


def test_workflow_duration_is_none_until_ended():
    metrics = MetricsCollector()
    metrics.record_workflow_start()
    metrics.record_node_execution("a", 1.0)
    assert metrics.get_summary([])["metrics"]["workflow"]["duration_ms"] is None
    metrics.record_workflow_end()
    duration = metrics.get_summary([])["metrics"]["workflow"]["duration_ms"]
    assert isinstance(duration, float) and duration >= 0


def test_rerun_node_counted_once_and_keeps_first_order():
    metrics = MetricsCollector()
    metrics.record_node_execution("a", 10.0)
    metrics.record_node_execution("b", 5.0)
    metrics.record_node_execution("a", 20.1234)
    summary = metrics.get_summary([])
    assert summary["nodes_executed"] == 2
    timings = summary["metrics"]["workflow"]["node_timings"]
    assert list(timings.items()) == [("a", 20.123), ("b", 5.0)]


@pytest.mark.parametrize("bad", [None, "12", True, [1]])
def test_unusable_token_counts_count_as_zero(bad: object):
    summary = MetricsCollector().get_summary(
        [{"model": "gpt-4o", "input_tokens": bad, "output_tokens": 1000}]
    )
    assert summary["metrics"]["total"]["tokens_input"] == 0
    assert summary["total_cost_usd"] == 0.01
