"""What a walk tells a run journal, and what a journal can hand back (resume).

A `RunJournal` (given to a flow through its `RunHooks`) hears of every node that finished,
with the node's fingerprint: its type, its resolved params and the fingerprints of the nodes
whose outputs its templates read. When the journal knows a completed step with the same
node id and fingerprint (from the run being resumed), the runner does not execute the node:
it puts the recorded outputs back in the store and follows the recorded action.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pflow.foundation.json_safe import to_json_safe


@dataclass
class Step:
    """One finished execution of a node."""

    node_id: str
    node_type: str
    status: str  # "completed" or "failed"
    action: str | None
    duration_ms: float
    fingerprint: str | None
    outputs: dict[str, Any] | None = None  # the node's own dict in the store: copy to keep
    cached: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CachedStep:
    """A completed step a resumed run reuses: its outputs and its action."""

    action: str | None
    outputs: dict[str, Any]


class RunJournal(Protocol):
    """Where a walk reports finished nodes, and where it asks for reusable ones."""

    def reusable(self, node_id: str, fingerprint: str) -> CachedStep | None:
        """The completed step to reuse for `node_id` with `fingerprint`, or None to run it."""
        ...

    def fingerprint_of(self, node_id: str) -> str | None:
        """The fingerprint of `node_id`'s latest execution in this walk, or None."""
        ...

    def record(self, step: Step) -> None:
        """`step` finished (or was reused)."""
        ...


# One encoder for every hash (json.dumps with options builds a new one per call).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_hash(value: Any) -> str:
    """`sha256:` and the hex digest of `value` as canonical JSON (sorted keys, no spaces).

    Values JSON cannot encode (bytes, sets, objects) are hashed as their JSON-safe form;
    encoding first and converting only on failure keeps the common case fast.
    """
    try:
        text = _CANONICAL.encode(value)
    except (TypeError, ValueError):
        text = _CANONICAL.encode(to_json_safe(value))
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def fingerprint(node_type: str, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """A hash of what decides a node's result, as far as pflow can see it.

    `params` are the node's resolved params; `inputs` maps each node whose outputs the
    params' templates read to that node's fingerprint (None when it has not run).
    """
    # canonical_hash sorts the keys; the JSON encoder takes dicts, not other mappings.
    document = {
        "type": node_type,
        "params": params if isinstance(params, dict) else dict(params),
        "inputs": inputs if isinstance(inputs, dict) else dict(inputs),
    }
    return canonical_hash(document)
