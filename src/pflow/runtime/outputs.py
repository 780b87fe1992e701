"""Declared workflow outputs: resolving their `source` after a successful run."""

from __future__ import annotations

from typing import Any

from pflow.runtime.templates import lookup, parse_source


def resolve_declared_outputs(ir: dict[str, Any], shared: dict[str, Any]) -> None:
    """Copy each declared output with a resolvable, non-null source to the store root."""
    for name, decl in (ir.get("outputs") or {}).items():
        source = decl.get("source") if isinstance(decl, dict) else None
        if not source:
            continue
        template = parse_source(source)
        if template is None:
            continue
        found, value = lookup(shared, template.path)
        if found and value is not None:
            shared[name] = value
