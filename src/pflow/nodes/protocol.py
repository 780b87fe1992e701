"""The node protocol pflow runs: `prep` → `exec` → `post`, actions, retries and successors.

This is the contract PocketFlow defined and node authors know; pflow implements it here so
that a run does not import PocketFlow (and, through it, asyncio). A class written against
PocketFlow's `Node` keeps working: the runtime only calls `set_params(params)` and
`_run(shared)`, which both implementations provide (see `pflow.runtime.compiler`).
"""

from __future__ import annotations

import time
import warnings
from typing import Any


class BaseNode:
    """A step: `prep(shared)` reads, `exec(prep_res)` works, `post` writes and returns an action.

    `successors` maps an action to the node that runs next; `a >> b` and `a - "error" >> b`
    build them.
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.successors: dict[str, Any] = {}

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def next(self, node: Any, action: str = "default") -> Any:
        """Run `node` after this one when this one returns `action`; returns `node`."""
        if action in self.successors:
            warnings.warn(f"Overwriting successor for action '{action}'", stacklevel=2)
        self.successors[action] = node
        return node

    def prep(self, shared: Any) -> Any:
        return None

    def exec(self, prep_res: Any) -> Any:
        return None

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        return None

    def _exec(self, prep_res: Any) -> Any:
        return self.exec(prep_res)

    def _run(self, shared: Any) -> Any:
        prepared = self.prep(shared)
        return self.post(shared, prepared, self._exec(prepared))

    def run(self, shared: Any) -> Any:
        """Run this node alone (successors are a flow's business) and return its action."""
        if self.successors:
            warnings.warn("Node won't run successors. Use Flow.", stacklevel=2)
        return self._run(shared)

    def __rshift__(self, other: Any) -> Any:
        return self.next(other)

    def __sub__(self, action: str) -> _Transition:
        if not isinstance(action, str):
            raise TypeError("Action must be a string")
        return _Transition(self, action)


class _Transition:
    """`node - "action"`, waiting for `>> target`."""

    def __init__(self, source: BaseNode, action: str) -> None:
        self.source, self.action = source, action

    def __rshift__(self, target: Any) -> Any:
        return self.source.next(target, self.action)


class Node(BaseNode):
    """A node whose `exec` is tried `max_retries` times, `wait` seconds apart.

    When the last try raises, `exec_fallback(prep_res, exc)` decides: by default it raises.
    `cur_retry` is the number of the try in progress, from 0.
    """

    def __init__(self, max_retries: int = 1, wait: float = 0) -> None:
        super().__init__()
        self.max_retries, self.wait = max_retries, wait
        self.cur_retry = 0

    def exec_fallback(self, prep_res: Any, exc: Exception) -> Any:
        raise exc

    def _exec(self, prep_res: Any) -> Any:
        for attempt in range(self.max_retries):
            self.cur_retry = attempt
            try:
                return self.exec(prep_res)
            except Exception as exc:
                if attempt == self.max_retries - 1:
                    return self.exec_fallback(prep_res, exc)
                if self.wait > 0:
                    time.sleep(self.wait)
        return None  # max_retries < 1: exec never ran
