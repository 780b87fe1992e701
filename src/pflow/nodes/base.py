"""Base class of every pflow node: PocketFlow's prep/exec/post contract plus typed parameters."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from pocketflow import Node

from pflow.core.exceptions import NodeParamError
from pflow.nodes.spec import NodeSpec

# Python types accepted for each declared parameter type. bool is excluded from numbers on
# purpose: `"timeout": true` is a mistake, not the number 1.
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


class PflowNode(Node):  # type: ignore[misc]
    """A node whose parameters are described by a `NodeSpec`.

    `prep` reads parameters (already template-resolved by the runtime) and the store,
    `exec` does the work and may be retried, `post` writes outputs and returns an action.
    Nodes never read run parameters from the shared store root: only their own `params`.
    """

    def __init__(self, spec: NodeSpec, node_id: str) -> None:
        super().__init__(max_retries=spec.max_retries, wait=spec.wait)
        self.spec = spec
        self.node_id = node_id

    def param(self, name: str) -> Any:
        """Value of parameter `name`, its default when absent, checked against its type.

        Raises NodeParamError when a required parameter is missing or a value has the wrong type.
        """
        pspec = self.spec.param(name)
        if pspec is None:  # pragma: no cover - a programming error in a node, not user input
            raise KeyError(f"node type {self.spec.name!r} declares no parameter {name!r}")
        if name not in self.params or self.params[name] is None:
            if pspec.required:
                raise NodeParamError(
                    f"Node '{self.node_id}' ({self.spec.name}) is missing required parameter "
                    f"'{name}'",
                    hint=f'Add "{name}" to the node\'s params: {pspec.description}',
                    node_id=self.node_id,
                    node_type=self.spec.name,
                    pointer=f"params/{name}",
                )
            return pspec.default
        value = self.params[name]
        accepted = _ACCEPTS.get(pspec.type)
        if accepted is not None and (
            not isinstance(value, accepted) or (pspec.type != "boolean" and isinstance(value, bool))
        ):
            raise NodeParamError(
                f"Node '{self.node_id}' ({self.spec.name}): parameter '{name}' must be "
                f"{_article(pspec.type)}, got {_json_type(value)} {value!r}",
                hint=pspec.description,
                node_id=self.node_id,
                node_type=self.spec.name,
                pointer=f"params/{name}",
            )
        return value

    def fail(self, message: str, hint: str | None = None) -> NodeParamError:
        """An error about this node's parameters, located at the node."""
        return NodeParamError(
            f"Node '{self.node_id}' ({self.spec.name}): {message}",
            hint=hint,
            node_id=self.node_id,
            node_type=self.spec.name,
        )

    @staticmethod
    def write(shared: MutableMapping[str, Any], **outputs: Any) -> None:
        """Write output keys into the node's view of the shared store."""
        for key, value in outputs.items():
            shared[key] = value


def _article(type_name: str) -> str:
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
