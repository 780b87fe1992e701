"""The per-node wrapper: namespacing, template resolution, timing, trace and progress events."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Protocol

from pflow.foundation.exceptions import NodeExecutionError, PflowError
from pflow.nodes.base import PflowNode
from pflow.nodes.protocol import BaseNode
from pflow.runtime.hooks import RunHooks
from pflow.runtime.journal import CachedStep, RunJournal, Step, fingerprint
from pflow.runtime.templates import TemplateScan, TextPlan, has_templates, resolve_params
from pflow.runtime.trace import WorkflowTraceCollector


class NodeMetrics(Protocol):
    """What the runner needs from a metrics collector."""

    def record_node_execution(self, node_id: str, duration_ms: float) -> None: ...


class NamespacedStore(MutableMapping[str, Any]):
    """A node's view of the shared store: writes land in `shared[node_id]`.

    Reads look in the node's own namespace first, then at the root. Keys starting with `__`
    (such as `__llm_calls__`) always live at the root.
    """

    def __init__(self, shared: dict[str, Any], node_id: str) -> None:
        self._root = shared
        existing = shared.get(node_id)
        self._own: dict[str, Any] = existing if isinstance(existing, dict) else {}
        shared[node_id] = self._own

    def __getitem__(self, key: str) -> Any:
        if key in self._own and not key.startswith("__"):
            return self._own[key]
        return self._root[key]

    def __setitem__(self, key: str, value: Any) -> None:
        (self._root if key.startswith("__") else self._own)[key] = value

    def __delitem__(self, key: str) -> None:
        del (self._root if key.startswith("__") else self._own)[key]

    def __contains__(self, key: object) -> bool:
        return key in self._own or key in self._root

    def __iter__(self) -> Iterator[str]:
        yield from self._own
        yield from (k for k in self._root if k not in self._own)

    def __len__(self) -> int:
        return len(self._own) + sum(1 for k in self._root if k not in self._own)


class NodeRunner(BaseNode):
    """Runs one node of a compiled workflow and reports what happened.

    PocketFlow's Flow would overwrite node params with the flow's; the runner keeps the IR's
    params, resolves their templates against the store just before the node runs, and hands
    the node its namespaced view of the store.
    """

    def __init__(
        self,
        node: PflowNode,
        params: dict[str, Any],
        *,
        namespaced: bool = True,
        metrics: NodeMetrics | None = None,
        trace: WorkflowTraceCollector | None = None,
        pointer: str = "",
        plans: Mapping[str, TextPlan] | None = None,
    ) -> None:
        super().__init__()
        self.pointer = pointer  # JSON pointer of this node in the IR, e.g. "/nodes/2"
        self.node = node
        self.node_id = node.node_id
        self.node_type = node.spec.name
        self.raw_params = params
        self.templated = has_templates(params)
        if plans is None:  # not given by the compiler's TemplateScan: parse the params here
            scan = TemplateScan()
            scan.scan(params)
            plans = scan.plans
        # The params' strings with templates, parsed once for every run (see TextPlan).
        self.plans = plans
        # Nodes whose outputs this node's templates read (only known with namespacing on).
        self.depends_on: frozenset[str] = frozenset()
        self.namespaced = namespaced
        self.metrics = metrics
        self.trace = trace

    def _run(self, shared: dict[str, Any], hooks: RunHooks | None = None) -> Any:
        hooks = hooks if hooks is not None else RunHooks.from_store(shared)
        journal = hooks.journal
        params: dict[str, Any] | None = None
        print_ = None
        if journal is not None:
            params, print_ = self._fingerprint(shared, journal)
            reused = journal.reusable(self.node_id, print_ or "")  # "" matches no step
            if reused is not None and print_ is not None and self.namespaced:
                return self._reuse(shared, hooks, journal, print_, reused)
        hooks.emit(self.node_id, "node_start")
        before = self.trace.snapshot(shared) if self.trace is not None else None
        started = time.perf_counter()
        try:
            action = self._execute(shared, hooks, params)
        except Exception as exc:
            error = self._as_pflow_error(exc)
            took = self._report(shared, started, before, hooks, error=error.message)
            self._journal(journal, shared, print_, None, took, error.message)
            raise error from exc
        except BaseException:  # Ctrl-C: the node still counts as run, then the interrupt goes on
            took = self._report(shared, started, before, hooks, error="interrupted")
            self._journal(journal, shared, print_, None, took, "interrupted")
            raise
        failed = isinstance(action, str) and action.startswith("error")
        message = self._error_text(shared) if failed else None
        took = self._report(shared, started, before, hooks, error=message)
        self._journal(journal, shared, print_, action, took, message)
        return action

    def _params(self, shared: dict[str, Any]) -> dict[str, Any]:
        if self.templated:
            return resolve_params(self.raw_params, shared, self.node_id, self.node_type, self.plans)
        return dict(self.raw_params)

    def _execute(
        self, shared: dict[str, Any], hooks: RunHooks, params: dict[str, Any] | None = None
    ) -> Any:
        self.node.set_params(params if params is not None else self._params(shared))
        self.node.llm_calls = hooks.llm_calls
        store = NamespacedStore(shared, self.node_id) if self.namespaced else shared
        return self.node._run(store)

    def _fingerprint(
        self, shared: dict[str, Any], journal: RunJournal
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The resolved params and the fingerprint; (None, None) when the params do not
        resolve (the node then runs, and fails, as it would without a journal)."""
        try:
            params = self._params(shared)
        except Exception:
            return None, None
        depends_on = self.depends_on
        inputs = {d: journal.fingerprint_of(d) for d in depends_on} if depends_on else {}
        return params, fingerprint(self.node_type, params, inputs)

    def _reuse(
        self,
        shared: dict[str, Any],
        hooks: RunHooks,
        journal: RunJournal,
        print_: str,
        reused: CachedStep,
    ) -> Any:
        """A resumed run's completed step: its outputs go back in the store, nothing runs."""
        hooks.emit(self.node_id, "node_start")
        shared[self.node_id] = copy.deepcopy(reused.outputs)
        hooks.emit(self.node_id, "node_cached")
        journal.record(
            Step(
                self.node_id,
                self.node_type,
                "completed",
                reused.action,
                0.0,
                print_,
                reused.outputs,
                cached=True,
            )
        )
        return reused.action

    def _journal(
        self,
        journal: RunJournal | None,
        shared: dict[str, Any],
        print_: str | None,
        action: Any,
        duration_ms: float,
        error: str | None,
    ) -> None:
        if journal is None:
            return
        own = shared.get(self.node_id) if self.namespaced else None
        journal.record(
            Step(
                self.node_id,
                self.node_type,
                "completed" if error is None else "failed",
                action if isinstance(action, str) else None,
                duration_ms,
                print_,
                own if isinstance(own, dict) and error is None else None,  # the journal copies
                error=error,
            )
        )

    def _report(
        self,
        shared: dict[str, Any],
        started: float,
        before: dict[str, Any] | None,
        hooks: RunHooks,
        *,
        error: str | None,
    ) -> float:
        """Record timing, trace and progress (`error` is None when the node succeeded);
        return the duration in milliseconds."""
        duration_ms = (time.perf_counter() - started) * 1000
        if self.metrics is not None:
            self.metrics.record_node_execution(self.node_id, duration_ms)
        ok = error is None
        if self.trace is not None and before is not None:
            self.trace.record_node(
                self.node_id, self.node_type, duration_ms, ok, before, shared, error=error
            )
        if ok:
            hooks.emit(self.node_id, "node_complete", duration_ms)
        else:
            hooks.emit(self.node_id, "node_failed", duration_ms, error)
        return duration_ms

    def _error_text(self, shared: dict[str, Any]) -> str | None:
        own = shared.get(self.node_id) if self.namespaced else shared
        text = own.get("error") if isinstance(own, dict) else None
        return str(text) if text else "returned an error action"

    def _as_pflow_error(self, exc: Exception) -> PflowError:
        if isinstance(exc, PflowError):
            if exc.node_id is None:
                exc.node_id = self.node_id
            if exc.node_type is None:
                exc.node_type = self.node_type
            if not exc.pointer:
                exc.pointer = self.pointer or None
            elif not exc.pointer.startswith("/nodes/"):
                exc.pointer = f"{self.pointer}/{exc.pointer.lstrip('/')}"
            return exc
        return NodeExecutionError(
            f"Node '{self.node_id}' ({self.node_type}) failed: {exc}",
            details=f"{type(exc).__name__}: {exc}",
            node_id=self.node_id,
            node_type=self.node_type,
            pointer=self.pointer or None,
        )
