"""What a walk tells a run journal, and what a journal can hand back (resume).

A `RunJournal` (given to a flow through its `RunHooks`) hears of every node that finished,
with the node's fingerprint: its type, its resolved params and the fingerprints of the nodes
whose outputs its templates read. When the journal knows a completed step with the same
node id and fingerprint (from the run being resumed), the runner does not execute the node:
it puts the recorded outputs back in the store and follows the recorded action.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from pflow.foundation.json_safe import json_encoder, json_string, to_json_safe


@dataclass(slots=True)
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


class _Digest(Protocol):
    def hexdigest(self) -> str: ...


def _builtin_sha256() -> Callable[[bytes], _Digest]:
    """CPython's own SHA-256 (same digests as hashlib's): hashlib loads OpenSSL, which costs
    milliseconds at start-up, and OpenSSL's set-up for the few dozen bytes of a fingerprint
    costs more than the built-in code's whole work."""
    name = "_sha2" if sys.version_info >= (3, 12) else "_sha256"
    try:
        return cast(Callable[[bytes], _Digest], importlib.import_module(name).sha256)
    except (ImportError, AttributeError):  # a Python built without it
        import hashlib

        return hashlib.sha256


_sha256 = _builtin_sha256()

# One encoder for every hash (json.dumps with options builds a new one per call).
_CANONICAL = json_encoder(sort_keys=True, separators=(",", ":"))


def canonical_hash(value: Any) -> str:
    """`sha256:` and the hex digest of `value` as canonical JSON (sorted keys, no spaces).

    Values JSON cannot encode (bytes, sets, objects) are hashed as their JSON-safe form;
    encoding first and converting only on failure keeps the common case fast.
    """
    try:
        text = _CANONICAL(value)
    except (TypeError, ValueError):
        text = _CANONICAL(to_json_safe(value))
    return "sha256:" + _sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def fingerprint(node_type: str, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """A hash of what decides a node's result, as far as pflow can see it.

    `params` are the node's resolved params; `inputs` maps each node whose outputs the
    params' templates read to that node's fingerprint (None when it has not run). The hash
    is `canonical_hash({"type": node_type, "params": params, "inputs": inputs})`; its text
    is written here in pieces, the three keys in their sorted order, when the parts encode.
    """
    try:
        text = (
            f'{{"inputs":{_CANONICAL(inputs) if inputs else "{}"},'
            f'"params":{_CANONICAL(params)},"type":{json_string(node_type)}}}'
        )
    except (TypeError, ValueError):  # other mappings, or values JSON cannot encode
        return canonical_hash({"type": node_type, "params": dict(params), "inputs": dict(inputs)})
    return "sha256:" + _sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
