"""WorkflowFlow: PocketFlow's graph walk, adapted to pflow's node runners."""

from __future__ import annotations

import copy
from typing import Any

from pocketflow import Flow

from pflow.runtime.node_runner import NodeRunner
from pflow.runtime.outputs import resolve_declared_outputs


class WorkflowFlow(Flow):  # type: ignore[misc]
    """A compiled workflow. `run(shared)` walks the graph and returns the final action.

    Differs from PocketFlow's Flow on purpose: it does not overwrite each node's params with the
    flow's, it ends silently when an action has no edge (validation already rejects ambiguous
    graphs), it remembers which node ran last, and after a successful walk it copies declared
    outputs to the store root.
    """

    def __init__(
        self,
        start: NodeRunner,
        ir: dict[str, Any],
        warnings: list[str] | None = None,
    ) -> None:
        super().__init__(start=start)
        self.ir = ir
        self.warnings = warnings or []
        self.node_count = len(ir["nodes"])
        self.last_node_id: str | None = None
        self.executed: list[str] = []

    def _orch(self, shared: dict[str, Any], params: Any = None) -> Any:
        current: NodeRunner | None = self.start_node
        action: Any = None
        self.executed = []
        while current is not None:
            runner = copy.copy(current)
            self.last_node_id = runner.node_id
            self.executed.append(runner.node_id)
            action = runner._run(shared)
            current = runner.successors.get(action or "default")
        return action

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> Any:
        """After a successful walk, write declared outputs to the store root."""
        if not (isinstance(exec_res, str) and exec_res.startswith("error")):
            resolve_declared_outputs(self.ir, shared)
        return exec_res

    @staticmethod
    def failed(action: Any) -> bool:
        """A run failed when its final action starts with "error"."""
        return isinstance(action, str) and action.startswith("error")
