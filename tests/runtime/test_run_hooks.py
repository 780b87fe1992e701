"""Compile-time parameters and the run hooks: progress and LLM calls outside the store."""

from __future__ import annotations

from typing import Any

import pytest

from pflow.foundation import store_keys
from pflow.foundation.exceptions import TemplateResolutionError
from pflow.runtime.compiler import compile_ir_to_flow
from pflow.runtime.hooks import RunHooks

GREET = {
    "ir_version": "0.1.0",
    "inputs": {"who": {"type": "string", "required": True}},
    "nodes": [{"id": "greet", "type": "shell", "params": {"command": "echo hello ${who}"}}],
}

ASK = {
    "ir_version": "0.1.0",
    "nodes": [
        {"id": "ask", "type": "llm", "params": {"prompt": "hi there", "model": "echo"}},
        {"id": "after", "type": "shell", "params": {"command": "true"}},
    ],
    "edges": [{"from": "ask", "to": "after"}],
}


def test_the_library_snippet_runs_with_compile_time_parameters() -> None:
    execution_params = {"who": "ada"}
    flow = compile_ir_to_flow(GREET, initial_params=execution_params)
    shared_storage: dict[str, Any] = {}
    assert flow.run(shared_storage) == "default"
    assert shared_storage["greet"]["stdout"] == "hello ada\n"
    assert shared_storage["who"] == "ada"  # the parameters sit at the root, as in a service run


def test_every_walk_gets_the_parameters_and_the_store_wins() -> None:
    flow = compile_ir_to_flow(GREET, initial_params={"who": "ada"})
    first: dict[str, Any] = {}
    second: dict[str, Any] = {"who": "grace"}
    flow.run(first)
    flow.run(second)
    assert first["greet"]["stdout"] == "hello ada\n"
    assert second["greet"]["stdout"] == "hello grace\n"


def test_the_caller_s_dict_is_copied_at_compile_time() -> None:
    params = {"who": "ada"}
    flow = compile_ir_to_flow(GREET, initial_params=params)
    params["who"] = "changed later"
    shared: dict[str, Any] = {}
    flow.run(shared)
    assert shared["greet"]["stdout"] == "hello ada\n"


def test_without_parameters_the_template_has_no_value() -> None:
    flow = compile_ir_to_flow(GREET, validate=False)
    with pytest.raises(TemplateResolutionError, match=r"\$\{who\}"):
        flow.run({})


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int, str | None]] = []

    def __call__(
        self, node_id: str, event: str, duration_ms: float | None, depth: int, detail: str | None
    ) -> None:
        self.events.append((node_id, event, depth, detail))


def test_progress_reaches_the_hooks_and_never_the_store() -> None:
    recorder = Recorder()
    hooks = RunHooks(progress=recorder, depth=1)
    flow = compile_ir_to_flow(GREET, initial_params={"who": "ada"}, hooks=hooks)
    shared: dict[str, Any] = {}
    flow.run(shared)
    assert recorder.events == [
        ("greet", "node_start", 1, None),
        ("greet", "node_complete", 1, None),
    ]
    assert sorted(shared) == ["greet", "who"]


def test_hooks_set_on_the_flow_win_over_a_callback_in_the_store() -> None:
    given, stored = Recorder(), Recorder()
    flow = compile_ir_to_flow(GREET, initial_params={"who": "ada"})
    flow.hooks = RunHooks(progress=given)
    flow.run({store_keys.PROGRESS_CALLBACK: stored})
    assert [e[1] for e in given.events] == ["node_start", "node_complete"]
    assert stored.events == []


def test_a_callback_left_in_the_store_is_still_honoured() -> None:
    stored = Recorder()
    flow = compile_ir_to_flow(GREET, initial_params={"who": "ada"})
    flow.run({store_keys.PROGRESS_CALLBACK: stored, store_keys.DEPTH: 3})
    assert stored.events == [("greet", "node_start", 3, None), ("greet", "node_complete", 3, None)]


def test_a_failing_progress_callback_is_ignored() -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("display gone")

    hooks = RunHooks(progress=broken)
    hooks.emit("x", "node_start")  # no exception
    flow = compile_ir_to_flow(GREET, initial_params={"who": "ada"}, hooks=hooks)
    assert flow.run({}) == "default"


def test_llm_calls_are_recorded_in_the_hooks_ledger() -> None:
    ledger: list[dict[str, Any]] = []
    flow = compile_ir_to_flow(ASK, hooks=RunHooks(llm_calls=ledger))
    shared: dict[str, Any] = {}
    flow.run(shared)
    assert [call["node_id"] for call in ledger] == ["ask"]
    assert ledger[0]["model"] == "echo"
    assert ledger[0]["total_tokens"] == shared["ask"]["llm_usage"]["total_tokens"]
    assert store_keys.LLM_CALLS not in shared


def test_without_a_hooks_ledger_the_store_s_ledger_is_used() -> None:
    ledger: list[dict[str, Any]] = []
    flow = compile_ir_to_flow(ASK)
    flow.run({store_keys.LLM_CALLS: ledger})
    assert [call["node_id"] for call in ledger] == ["ask"]


def test_no_ledger_anywhere_records_nothing() -> None:
    flow = compile_ir_to_flow(ASK, hooks=RunHooks())
    shared: dict[str, Any] = {}
    flow.run(shared)
    assert store_keys.LLM_CALLS not in shared
    assert flow.node_count == 2
