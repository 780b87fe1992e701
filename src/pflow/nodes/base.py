"""Base class of every pflow node: the prep/exec/post protocol plus typed parameters."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, MutableMapping
from typing import Any

from pflow.foundation import store_keys
from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.protocol import Node
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


class PflowNode(Node):
    """A node whose parameters are described by a `NodeSpec`.

    `prep` reads parameters (already template-resolved by the runtime) and the store,
    `exec` does the work and may be retried, `post` writes outputs and returns an action.
    Nodes never read run parameters from the shared store root: only their own `params`.
    """

    def __init__(self, spec: NodeSpec, node_id: str) -> None:
        super().__init__(max_retries=spec.max_retries, wait=spec.wait)
        self.spec = spec
        self.node_id = node_id
        # The run's LLM-call ledger, handed over by the runtime's hooks before each run.
        self.llm_calls: list[dict[str, Any]] | None = None

    def record_llm_call(self, shared: Mapping[str, Any], call: dict[str, Any]) -> None:
        """Add `call` (LLM usage plus `node_id`) to the run's ledger, when the run keeps one.

        The ledger comes from the run's hooks; without them, from the store's `__llm_calls__`
        list, if the caller put one there.
        """
        ledger = self.llm_calls
        if ledger is None:
            stored = shared.get(store_keys.LLM_CALLS)
            ledger = stored if isinstance(stored, list) else None
        if ledger is not None:
            ledger.append(call)

    def param(self, name: str) -> Any:
        """Value of parameter `name`, its default when absent, checked against its type.

        Raises NodeParamError when a required parameter is missing or a value has the wrong type.
        """
        pspec = self.spec.param(name)
        if pspec is None:  # pragma: no cover - a programming error in a node, not user input
            raise KeyError(f"node type {self.spec.name!r} declares no parameter {name!r}")
        problem = param_problem(self.spec, self.node_id, name, self.params)
        if problem is not None:
            raise problem
        value = self.params.get(name)
        return pspec.default if value is None else value

    def seconds_param(self, name: str = "timeout") -> float:
        """A duration param: a positive, finite number of seconds."""
        seconds: float = self.param(name)
        if not math.isfinite(seconds) or seconds <= 0:
            raise self.fail(
                f"{name} must be a positive number of seconds, got {seconds!r}",
                hint=f'For example "{name}": 60',
                param=name,
            )
        return seconds

    def fail(
        self, message: str, hint: str | None = None, param: str | None = None
    ) -> NodeParamError:
        """An error about this node's parameters, located at the node (and `param`, if given)."""
        return NodeParamError(
            f"Node '{self.node_id}' ({self.spec.name}): {message}",
            hint=hint,
            node_id=self.node_id,
            node_type=self.spec.name,
            pointer=f"params/{param}" if param else None,
        )

    @staticmethod
    def write(shared: MutableMapping[str, Any], **outputs: Any) -> None:
        """Write output keys into the node's view of the shared store."""
        for key, value in outputs.items():
            shared[key] = value


def json_text(value: Any) -> str:
    """Text for a JSON value where only text fits (headers, environment variables, queries).

    Strings as they are, booleans `true`/`false`, null empty, numbers as written, objects and
    arrays as JSON. Raises ValueError for binary data, which has no faithful text form.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, bytes):
        raise ValueError("binary data cannot be used as text here")
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def param_problem(
    spec: NodeSpec, node_id: str, name: str, params: Mapping[str, Any]
) -> NodeParamError | None:
    """Why parameter `name` of `params` is unusable (missing or wrong type), or None."""
    pspec = spec.param(name)
    if pspec is None:
        return None
    if name not in params or params[name] is None:
        if not pspec.required:
            return None
        return NodeParamError(
            f"Node '{node_id}' ({spec.name}) is missing required parameter '{name}'",
            hint=f'Add "{name}" to the node\'s params: {pspec.description}',
            node_id=node_id,
            node_type=spec.name,
            pointer=f"params/{name}",
        )
    value = params[name]
    accepted = _ACCEPTS.get(pspec.type)
    if accepted is None or (
        isinstance(value, accepted) and (pspec.type == "boolean" or not isinstance(value, bool))
    ):
        return None
    return NodeParamError(
        f"Node '{node_id}' ({spec.name}): parameter '{name}' must be "
        f"{_article(pspec.type)}, got {_json_type(value)} {value!r}",
        hint=pspec.description,
        node_id=node_id,
        node_type=spec.name,
        pointer=f"params/{name}",
    )


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
