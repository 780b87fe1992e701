"""Node classes written against PocketFlow's `Node` load and run as pflow node types."""

from __future__ import annotations

from typing import Any

import pocketflow
import pytest

from pflow.foundation.exceptions import CompilationError
from pflow.nodes.spec import NodeSpec, OutputSpec, ParamSpec
from pflow.registry import Registry
from pflow.registry.catalog import BUILTIN_SPECS
from pflow.runtime.compiler import compile_ir_to_flow


class Shout(pocketflow.Node):
    """Upper-cases its `text` param, failing the first try when `flaky` is set."""

    def __init__(self) -> None:
        super().__init__(max_retries=2)
        self.tries = 0

    def prep(self, shared: Any) -> str:
        return str(self.params["text"])

    def exec(self, text: str) -> str:
        self.tries += 1
        if self.params.get("flaky") and self.cur_retry == 0:
            raise RuntimeError("first try fails")
        return text.upper()

    def post(self, shared: Any, prep_res: str, exec_res: str) -> str:
        shared["loud"] = exec_res
        shared["tries"] = self.tries
        return "shouted" if self.params.get("flaky") else "default"


class Quiet(pocketflow.Node):
    """Always fails; its PocketFlow fallback turns the failure into an output."""

    def exec(self, prep_res: Any) -> Any:
        raise ValueError("no")

    def exec_fallback(self, prep_res: Any, exc: Exception) -> str:
        return f"fallback: {exc}"

    def post(self, shared: Any, prep_res: Any, exec_res: str) -> None:
        shared["said"] = exec_res


class Later(pocketflow.AsyncNode):
    pass


class NotANode:
    def exec(self, prep_res: Any) -> None:
        pass


def spec(name: str, class_name: str) -> NodeSpec:
    return NodeSpec(
        name=name,
        module=__name__,
        class_name=class_name,
        description=f"{class_name}, a PocketFlow node",
        package="tests",
        params=(ParamSpec("text", "string", "text"), ParamSpec("flaky", "boolean", "fail once")),
        outputs=(OutputSpec("loud", "string", "upper-cased"),),
    )


@pytest.fixture
def registry() -> Registry:
    return Registry(
        (
            *BUILTIN_SPECS,
            spec("shout", "Shout"),
            spec("quiet", "Quiet"),
            spec("later", "Later"),
            spec("plain", "NotANode"),
            spec("function", "spec"),
        )
    )


def test_pocketflow_nodes_run_with_templates_retries_and_actions(registry: Registry) -> None:
    ir = {
        "ir_version": "0.1.0",
        "nodes": [
            {"id": "a", "type": "shout", "params": {"text": "${who}"}},
            {"id": "b", "type": "shout", "params": {"text": "${a.loud}!", "flaky": True}},
            {"id": "c", "type": "quiet"},
            {"id": "d", "type": "shout", "params": {"text": "not reached"}},
        ],
        "edges": [
            {"from": "a", "to": "b"},
            {"from": "b", "to": "c", "action": "shouted"},
            {"from": "b", "to": "d"},
        ],
    }
    flow = compile_ir_to_flow(ir, registry, initial_params={"who": "ada"})
    shared: dict[str, Any] = {}
    assert flow.run(shared) is None  # c's post returns None: the walk ends there
    assert shared["a"] == {"loud": "ADA", "tries": 1}
    assert shared["b"] == {"loud": "ADA!", "tries": 2}  # PocketFlow's own retry ran
    assert shared["c"] == {"said": "fallback: no"}
    assert "d" not in shared
    assert type(registry.node_class(registry.require("shout"))).__name__ != "Shout"


@pytest.mark.parametrize(
    ("node_type", "reason"),
    [
        ("later", "asynchronous node"),
        ("plain", "has no set_params or _run method"),
        ("function", "is not a class"),
    ],
)
def test_classes_that_cannot_run_are_compile_errors(
    registry: Registry, node_type: str, reason: str
) -> None:
    ir = {"ir_version": "0.1.0", "nodes": [{"id": "x", "type": node_type}]}
    with pytest.raises(CompilationError) as caught:
        compile_ir_to_flow(ir, registry)
    assert reason in str(caught.value)
    assert caught.value.node_type == node_type
