"""WorkflowFlow: the walk of a compiled workflow's graph of node runners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pflow.foundation.exceptions import PflowError
from pflow.nodes.protocol import BaseNode
from pflow.runtime.hooks import RunHooks
from pflow.runtime.node_runner import NodeRunner
from pflow.runtime.outputs import resolve_declared_outputs


@dataclass(frozen=True)
class NodeFailure:
    """A node that failed or was skipped during a keep-going walk."""

    node_id: str
    node_type: str
    kind: str  # "error_action", "exception" or "skipped"
    action: str | None = None
    error: PflowError | None = None
    waiting_for: str | None = None


class WorkflowFlow(BaseNode):
    """A compiled workflow. `run(shared)` walks the graph and returns the final action.

    Unlike a PocketFlow `Flow`, it does not overwrite each node's params with the flow's nor
    run copies of its nodes, it ends silently when an action has no edge (validation already
    rejects ambiguous graphs), it remembers which node ran last, and after a successful walk
    it copies declared outputs to the store root.

    With `keep_going`, a node that fails (an `error*` action no edge handles, or an
    exception) is recorded in `failures` and the walk continues along its `default` edge;
    a node whose templates read the outputs of a failed or skipped node is not run but
    recorded as skipped, naming the node it waited for (the first of them to fail, when it
    needs several). A failed or skipped node never runs again: a walk that comes back to one
    (a loop) ends there. Edges for error actions are followed exactly as without `keep_going`.
    """

    def __init__(
        self,
        start: NodeRunner,
        ir: dict[str, Any],
        warnings: list[str] | None = None,
        initial_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.start_node = start
        self.ir = ir
        # Run parameters given at compile time: a walk adds those the store lacks to its root.
        self.initial_params = dict(initial_params or {})
        # Progress and LLM-call recording for the next walks; None: read the legacy store keys.
        self.hooks: RunHooks | None = None
        self.warnings = warnings or []
        self.node_count = len(ir["nodes"])
        self.last_node_id: str | None = None
        self.executed: list[str] = []
        self.keep_going = False
        self.failures: list[NodeFailure] = []

    def _orch(self, shared: dict[str, Any], params: Any = None) -> Any:
        current: NodeRunner | None = self.start_node
        action: Any = None
        self.executed, self.failures = [], []
        for key, value in self.initial_params.items():
            shared.setdefault(key, value)
        hooks = self.hooks if self.hooks is not None else RunHooks.from_store(shared)
        blocked: set[str] = set()  # failed or skipped nodes, whose outputs are missing
        while current is not None:
            if current.node_id in blocked:  # only in keep-going mode: stop a failing loop
                break
            # The runner itself, not a copy as PocketFlow's Flow makes: a run changes no
            # attribute of a runner (its node's params are set afresh each time).
            runner = current
            waiting = self._blocked_by(runner)
            if waiting is not None:
                hooks.emit(runner.node_id, "node_skipped", None, waiting)
                self._fail(
                    NodeFailure(runner.node_id, runner.node_type, "skipped", waiting_for=waiting),
                    blocked,
                )
                current = runner.successors.get("default")
                continue
            self.last_node_id = runner.node_id
            self.executed.append(runner.node_id)
            try:
                action = runner._run(shared, hooks)
            except PflowError as exc:
                if not self.keep_going:
                    raise
                self._fail(
                    NodeFailure(runner.node_id, runner.node_type, "exception", error=exc), blocked
                )
                current = runner.successors.get("default")
                continue
            current = runner.successors.get(action or "default")
            if self.keep_going and current is None and self.failed(action):
                self._fail(
                    NodeFailure(runner.node_id, runner.node_type, "error_action", action=action),
                    blocked,
                )
                current = runner.successors.get("default")
        return action

    def _run(self, shared: dict[str, Any]) -> Any:
        prepared = self.prep(shared)
        return self.post(shared, prepared, self._orch(shared))

    def _blocked_by(self, runner: NodeRunner) -> str | None:
        """The first failed or skipped node (in execution order) whose outputs `runner` reads."""
        if not self.keep_going:
            return None
        return next((f.node_id for f in self.failures if f.node_id in runner.depends_on), None)

    def _fail(self, failure: NodeFailure, blocked: set[str]) -> None:
        self.failures.append(failure)
        blocked.add(failure.node_id)

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> Any:
        """After a successful walk, write declared outputs to the store root."""
        if not (self.failed(exec_res) or self.failures):  # a keep-going failure is a failure
            resolve_declared_outputs(self.ir, shared)
        return exec_res

    @staticmethod
    def failed(action: Any) -> bool:
        """A run failed when its final action starts with "error"."""
        return isinstance(action, str) and action.startswith("error")
