"""The llm node against the real llm library and the `echo` model of llm-echo."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeExecutionError, NodeParamError
from pflow.nodes.llm import LLMNode, parse_response
from pflow.registry.catalog import LLM

RunNode = Callable[..., tuple[str, dict[str, Any]]]


@pytest.fixture(autouse=True)
def llm_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """llm's configuration and keys live in a fresh directory; no provider keys leak in."""
    user_dir = tmp_path / "llm-user"
    user_dir.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(user_dir))
    for var in ("LLM_ECHO_NEEDS_KEY_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return user_dir


def prompt(
    run_node: RunNode, params: dict[str, Any], shared: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    return run_node(LLMNode, LLM, params, shared)


def raw(text: str) -> str:
    """A prompt that makes the echo model answer exactly `text`."""
    return json.dumps({"prompt": "ignored", "raw": text})


def test_echo_model_answer_is_parsed(run_node: RunNode) -> None:
    params = {"prompt": "hello world", "system": "be brief", "model": "echo"}
    action, shared = prompt(run_node, params)
    assert action == "default"
    assert shared["response"]["prompt"] == "hello world"
    assert shared["response"]["system"] == "be brief"
    assert shared["response"]["stream"] is False
    usage = shared["llm_usage"]
    assert usage["model"] == "echo"
    assert usage["input_tokens"] == 4  # llm-echo counts words of prompt and system
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert set(shared) == {"response", "llm_usage"}


def test_usage_is_appended_to_the_run_ledger(run_node: RunNode) -> None:
    ledger: list[dict[str, Any]] = []
    params = {"prompt": "hi", "model": "echo"}
    _, shared = run_node(LLMNode, LLM, params, {"__llm_calls__": ledger}, node_id="ask")
    assert ledger == [{**shared["llm_usage"], "node_id": "ask"}]


def test_no_ledger_no_write(run_node: RunNode) -> None:
    _, shared = prompt(run_node, {"prompt": "hi", "model": "echo"})
    assert "__llm_calls__" not in shared


def test_plain_text_answer(run_node: RunNode) -> None:
    _, shared = prompt(run_node, {"prompt": raw("Just words."), "model": "echo"})
    assert shared["response"] == "Just words."


def test_fenced_json_answer(run_node: RunNode) -> None:
    answer = 'Here it is:\n```json\n{"ok": true, "n": [1]}\n```\nDone.'
    _, shared = prompt(run_node, {"prompt": raw(answer), "model": "echo"})
    assert shared["response"] == {"ok": True, "n": [1]}


def test_json_array_answer(run_node: RunNode) -> None:
    _, shared = prompt(run_node, {"prompt": raw(' ["a", "b"] '), "model": "echo"})
    assert shared["response"] == ["a", "b"]


def test_default_model_comes_from_llm_config(run_node: RunNode, llm_user_dir: Path) -> None:
    (llm_user_dir / "default_model.txt").write_text("echo")
    action, shared = prompt(run_node, {"prompt": "hi"})
    assert action == "default"
    assert shared["llm_usage"]["model"] == "echo"


def test_unknown_model(run_node: RunNode) -> None:
    with pytest.raises(NodeExecutionError) as info:
        prompt(run_node, {"prompt": "hi", "model": "no-such-model"})
    assert "Unknown model 'no-such-model'" in str(info.value)
    assert info.value.hint == "Run 'llm models' to list the models installed"
    assert info.value.node_id == "n1"
    assert info.value.node_type == "llm"


def test_missing_key(run_node: RunNode) -> None:
    with pytest.raises(NodeExecutionError) as info:
        prompt(run_node, {"prompt": "hi", "model": "echo-needs-key"})
    assert "needs an API key" in str(info.value)
    assert info.value.hint is not None
    assert "llm keys set echo-needs-key" in info.value.hint
    assert "LLM_ECHO_NEEDS_KEY_KEY" in info.value.hint


def test_key_from_environment(run_node: RunNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_ECHO_NEEDS_KEY_KEY", "k-123")
    _, shared = prompt(run_node, {"prompt": "hi", "model": "echo-needs-key"})
    assert shared["response"]["key"] == "k-123"


def test_option_the_model_does_not_take(run_node: RunNode) -> None:
    with pytest.raises(NodeExecutionError) as info:
        prompt(run_node, {"prompt": "hi", "model": "echo", "temperature": 0.2})
    assert "does not support the option(s) temperature" in str(info.value)
    assert info.value.node_id == "n1"


def test_failure_during_the_call(run_node: RunNode) -> None:
    bad = json.dumps({"prompt": "x", "tool_calls": [{"arguments": {}}]})  # no tool name
    with pytest.raises(NodeExecutionError, match="LLM call to echo failed: ") as info:
        prompt(run_node, {"prompt": bad, "model": "echo"})
    assert info.value.node_id == "n1"


@pytest.mark.parametrize(
    "params",
    [
        {"model": "echo"},
        {"prompt": "hi", "temperature": 3},
        {"prompt": "hi", "max_tokens": 0},
        {"prompt": "hi", "max_tokens": 1.5},
    ],
)
def test_bad_params(run_node: RunNode, params: dict[str, Any]) -> None:
    with pytest.raises(NodeParamError):
        prompt(run_node, params)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("42", "42"),
        ('"quoted"', '"quoted"'),
        ("{broken", "{broken"),
        ("```json\nnot json\n```", "```json\nnot json\n```"),
        ("```JSON\n[1]\n```", [1]),
        ("", ""),
    ],
)
def test_parse_response(text: str, expected: Any) -> None:
    assert parse_response(text) == expected
