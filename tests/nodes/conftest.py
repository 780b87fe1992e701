"""Helpers for running one node directly, the way PocketFlow's Node.run does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pflow.nodes.base import PflowNode
from pflow.nodes.spec import NodeSpec

RunNode = Callable[..., tuple[str, dict[str, Any]]]


@pytest.fixture
def run_node() -> RunNode:
    """`run_node(Cls, SPEC, params, shared=None)` -> (action, shared) after one run."""

    def run(
        cls: type[PflowNode],
        spec: NodeSpec,
        params: dict[str, Any],
        shared: dict[str, Any] | None = None,
        node_id: str = "n1",
    ) -> tuple[str, dict[str, Any]]:
        node = cls(spec, node_id)
        node.set_params(params)
        store: dict[str, Any] = {} if shared is None else shared
        action = node.run(store)
        return action, store

    return run


@pytest.fixture
def home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fake home directory, so `~` never reaches the user's."""
    fake = tmp_path / "home"
    fake.mkdir()
    monkeypatch.setenv("HOME", str(fake))
    return fake
