"""RunHooks: what a walk reports to the one who started it, outside the shared store.

A front end (through the executor service) passes one `RunHooks` to a compiled flow; every
node runner reports progress events through it and LLM nodes record their calls in it. The
store holds only workflow data, so nothing private reaches `ExecutionResult.shared_after`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pflow.foundation import store_keys
from pflow.runtime.journal import RunJournal

# (node_id, event, duration_ms, depth, detail); events: workflow_start, node_start,
# node_complete, node_failed, node_skipped, node_cached (a resumed run reused the node).
ProgressCallback = Callable[[str, str, "float | None", int, "str | None"], Any]


@dataclass
class RunHooks:
    """Progress reporting, the LLM-call ledger and the run journal of one run; all optional."""

    progress: ProgressCallback | None = None
    llm_calls: list[dict[str, Any]] | None = None
    depth: int = 0
    journal: RunJournal | None = None

    @classmethod
    def from_store(cls, shared: Mapping[str, Any]) -> RunHooks:
        """Hooks for a flow run without any: the callback a caller left in the store, if any."""
        callback = shared.get(store_keys.PROGRESS_CALLBACK)
        depth = shared.get(store_keys.DEPTH, 0)
        return cls(
            progress=callback if callable(callback) else None,
            depth=depth if isinstance(depth, int) else 0,
        )

    def emit(
        self,
        node_id: str,
        event: str,
        duration_ms: float | None = None,
        detail: str | None = None,
    ) -> None:
        """Tell the progress callback about `event`; its failures are swallowed."""
        if self.progress is None:
            return
        try:
            self.progress(node_id, event, duration_ms, self.depth, detail)
        except Exception:  # progress display must never break a run
            return
