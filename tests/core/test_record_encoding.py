"""Fingerprints and one-line JSON are written by hand, for speed; they must stay the bytes the
standard encoders give (recorded fingerprints are compared on every resume)."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pflow.core.run_records import step_json
from pflow.foundation.json_safe import dumps_utf8, json_encoder, to_json_safe
from pflow.runtime.journal import Step, canonical_hash, fingerprint

_TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\udcff", "é", "\n"]))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


def _reference_hash(value: Any) -> str:
    """What a fingerprint is defined as: sha256 of sorted, spaceless JSON of the document."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@settings(max_examples=300, deadline=None)
@given(
    node_type=_TEXT,
    params=st.dictionaries(_TEXT, _JSON, max_size=5),
    inputs=st.dictionaries(_TEXT, st.none() | _TEXT, max_size=3),
)
def test_a_fingerprint_is_the_canonical_hash_of_its_document(
    node_type: str, params: dict[str, Any], inputs: dict[str, Any]
) -> None:
    document = {"type": node_type, "params": params, "inputs": inputs}
    assert fingerprint(node_type, params, inputs) == canonical_hash(document)
    assert canonical_hash(document) == _reference_hash(document)


def test_a_fingerprint_of_values_json_cannot_encode_hashes_their_json_safe_form() -> None:
    params = {"data": b"\x00\x01", "n": math.nan, "t": (1, 2)}
    expected = _reference_hash(
        {"type": "shell", "params": to_json_safe(params), "inputs": {"a": None}}
    )
    assert fingerprint("shell", params, {"a": None}) == expected


@settings(max_examples=300, deadline=None)
@given(value=_JSON)
def test_one_line_json_is_what_json_dumps_writes(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False)
    escaped = "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in expected)
    assert dumps_utf8(value, indent=None) == escaped
    assert json_encoder(sort_keys=True)(value) == json.dumps(
        value, ensure_ascii=False, sort_keys=True
    )


def test_one_line_json_reports_a_cycle_as_json_does() -> None:
    cycle: list[Any] = [1]
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_utf8(cycle, indent=None)


@settings(max_examples=300, deadline=None)
@given(
    names=st.tuples(_TEXT, _TEXT, st.sampled_from(["completed", "failed"])),
    action=st.none() | _TEXT,
    micros=st.integers(0, 10**12),
    print_=st.none() | _TEXT,
    outputs=st.none() | st.dictionaries(_TEXT, _JSON | st.just(b"\x00") | st.just(math.inf)),
    cached=st.booleans(),
    error=st.none() | _TEXT,
)
def test_a_step_text_is_the_compact_json_of_its_document(
    names: tuple[str, str, str],
    action: str | None,
    micros: int,
    print_: str | None,
    outputs: dict[str, Any] | None,
    cached: bool,
    error: str | None,
) -> None:
    node_id, node_type, status = names
    step = Step(node_id, node_type, status, action, micros / 1000, print_, outputs, cached, error)
    document: dict[str, Any] = {
        "node_id": node_id,
        "node_type": node_type,
        "status": status,
        "action": action,
        "duration_ms": micros / 1000,
        "fingerprint": print_,
        "outputs": to_json_safe(outputs) if outputs is not None else None,
        "cached": cached,
    }
    if error is not None:
        document["error"] = error
    assert step_json(step) == dumps_utf8(document, indent=None, allow_nan=False)
