"""Node classes that are not PflowNodes: written against PocketFlow's `Node`, for example.

Such a class is built with no arguments (PocketFlow's `Node(max_retries=1, wait=0)`) and keeps
its own retries and fallback; pflow runs it through a PflowNode that hands it the resolved
params and calls its `_run(shared)`, the two methods both protocols share. Its `prep`,
`exec` and `post` see the node's namespaced view of the store, as a PflowNode's do.
"""

from __future__ import annotations

from typing import Any

from pflow.nodes.base import PflowNode
from pflow.nodes.spec import NodeSpec


def not_runnable(cls: Any) -> str | None:
    """Why instances of `cls` cannot run as a pflow node, or None when they can."""
    if not isinstance(cls, type):
        return f"{cls!r} is not a class"
    if callable(getattr(cls, "_run_async", None)):
        return "it is an asynchronous node (run_async), which pflow does not run"
    missing = [m for m in ("set_params", "_run") if not callable(getattr(cls, m, None))]
    if missing:
        return f"it has no {' or '.join(missing)} method (not a prep/exec/post node class)"
    return None


def adapt(cls: type) -> type[PflowNode]:
    """A PflowNode class running instances of the foreign node class `cls`."""

    class ForeignNode(PflowNode):
        foreign_class = cls

        def __init__(self, spec: NodeSpec, node_id: str) -> None:
            super().__init__(spec, node_id)
            self.inner = cls()

        def _run(self, shared: Any) -> Any:
            self.inner.set_params(self.params)
            return self.inner._run(shared)

    ForeignNode.__name__ = ForeignNode.__qualname__ = f"Foreign{cls.__name__}"
    ForeignNode.__module__ = cls.__module__
    return ForeignNode
