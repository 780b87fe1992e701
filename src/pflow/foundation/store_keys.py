"""The shared-store keys that are part of pflow's public surface.

Nodes (pflow's own and plugins) and library callers may rely on these names, so they stay as
they are; everything else a run needs besides the store travels in `pflow.runtime.hooks`.
"""

from __future__ import annotations

# Data piped into pflow; a shell node without its own `stdin` parameter reads it.
STDIN = "stdin"

# The list of LLM usage records of a run (one dict per call, with `node_id`). The metrics
# summary and traces read it; nodes record into it through `PflowNode.record_llm_call`.
LLM_CALLS = "__llm_calls__"

# Honoured when a library caller runs a compiled flow without hooks: a progress callable
# `(node_id, event, duration_ms, depth, detail)` and the nesting depth it is told.
PROGRESS_CALLBACK = "__progress_callback__"
DEPTH = "_pflow_depth"
