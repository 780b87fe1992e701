"""The echo test node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.echo import EchoNode
from pflow.registry.catalog import ECHO

RunNode = Callable[..., tuple[str, dict[str, Any]]]


def echo(run_node: RunNode, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return run_node(EchoNode, ECHO, params)


def test_defaults(run_node: RunNode) -> None:
    action, shared = echo(run_node, {})
    assert action == "default"
    assert shared == {
        "echo": "Hello, World!",
        "metadata": {"original_message": "Hello, World!", "count": 1, "modified": False},
    }


def test_all_modifiers(run_node: RunNode) -> None:
    params = {"message": "hi", "count": 3, "prefix": "<", "suffix": ">", "uppercase": True}
    _, shared = echo(run_node, params)
    assert shared["echo"] == "<HI> <HI> <HI>"
    assert shared["metadata"] == {"original_message": "hi", "count": 3, "modified": True}


def test_repeat_without_modification(run_node: RunNode) -> None:
    _, shared = echo(run_node, {"message": "ab", "count": 2})
    assert shared["echo"] == "ab ab"
    assert shared["metadata"]["modified"] is False


def test_data_is_copied_when_given(run_node: RunNode) -> None:
    _, shared = echo(run_node, {"data": {"nested": [1, None]}})
    assert shared["data"] == {"nested": [1, None]}


def test_zero_count(run_node: RunNode) -> None:
    _, shared = echo(run_node, {"count": 0})
    assert shared["echo"] == ""


@pytest.mark.parametrize("params", [{"count": -1}, {"count": "2"}, {"uppercase": "yes"}])
def test_bad_params(run_node: RunNode, params: dict[str, Any]) -> None:
    with pytest.raises(NodeParamError):
        echo(run_node, params)
