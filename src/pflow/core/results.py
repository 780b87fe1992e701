"""What a run prints: choosing the result from the store, and its text and JSON forms."""

from __future__ import annotations

from typing import Any

from pflow.foundation.json_safe import dumps_utf8
from pflow.runtime.templates import lookup, parse_source

# Keys tried, in order, when a workflow declares no outputs and no --output-key is given.
AUTO_OUTPUT_KEYS = ("response", "output", "result", "text", "stdout")
SUCCESS_TEXT = "Workflow executed successfully"
_MISSING = object()


def find_output_key(shared: dict[str, Any], key: str) -> Any:
    """Value of `--output-key KEY`: a root key, else a path like `node.stdout`; _MISSING."""
    if key in shared:
        return shared[key]
    template = parse_source(key)
    if template is not None:
        found, value = lookup(shared, template.path)
        if found:
            return value
    return _MISSING


def declared_results(ir: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """Declared outputs present at the store root, in declaration order."""
    return {name: shared[name] for name in (ir.get("outputs") or {}) if name in shared}


def auto_detect(shared: dict[str, Any], ir: dict[str, Any]) -> tuple[str, Any] | None:
    """The first of AUTO_OUTPUT_KEYS with a non-empty value.

    For each key the namespaces of the nodes that ran are searched from the node that first
    ran last backwards (empty strings are skipped), then the store root. A node's namespace
    enters the store when it first runs, so the store's key order is the execution order.
    """
    node_ids = {n.get("id") for n in ir.get("nodes") or []}
    node_order = [key for key in shared if key in node_ids]
    for key in AUTO_OUTPUT_KEYS:
        for node_id in reversed(node_order):
            namespace = shared.get(node_id)
            if isinstance(namespace, dict) and _has_value(namespace.get(key)):
                return key, namespace[key]
        if _has_value(shared.get(key)):
            return key, shared[key]
    return None


def text_result(
    shared: dict[str, Any], ir: dict[str, Any], output_key: str | None
) -> tuple[Any, str | None]:
    """(value to print or _MISSING, warning) for text mode."""
    if output_key is not None:
        value = find_output_key(shared, output_key)
        if value is _MISSING:
            return _MISSING, f"output key '{output_key}' not found in the results"
        return value, None
    declared = declared_results(ir, shared)
    if declared:
        return next(iter(declared.values())), None
    found = auto_detect(shared, ir)
    return (found[1] if found else _MISSING), None


def json_result(
    shared: dict[str, Any], ir: dict[str, Any], output_key: str | None
) -> dict[str, Any]:
    """The `result` member of the JSON success document."""
    if output_key is not None:
        value = find_output_key(shared, output_key)
        return {} if value is _MISSING else {output_key: value}
    if ir.get("outputs"):
        return declared_results(ir, shared)
    found = auto_detect(shared, ir)
    return {found[0]: found[1]} if found else {}


def format_value(value: Any) -> str:
    """Text form of a result: strings as they are (one trailing newline), others as JSON."""
    if value is _MISSING:
        return SUCCESS_TEXT
    if isinstance(value, bytes):
        return f"<binary data: {len(value)} bytes>"
    if isinstance(value, str):
        return value.rstrip("\n")
    return dumps_utf8(value, default=str)


def dump_document(document: Any) -> str:
    """A JSON document as pflow prints it: 2-space indent, UTF-8, no trailing newline."""
    return dumps_utf8(document, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"_type": "binary", "size": len(value)}
    return str(value)


def _has_value(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())
