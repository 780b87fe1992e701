"""Checks of a workflow that front ends make without running it."""

from __future__ import annotations

from typing import Any

from pflow.core.node_types import Registry
from pflow.runtime.inputs import is_required
from pflow.runtime.ir_schema import validate_ir_schema
from pflow.runtime.validation import validate_workflow

__all__ = ["check_before_save", "is_required", "validate_ir_schema"]


def check_before_save(ir: dict[str, Any], registry: Registry | None = None) -> list[str]:
    """Raise the first problem that stops `ir` from running; return its warnings.

    Parameters are not known before a run, so templates naming undeclared values of a
    workflow without declared inputs are accepted (they come from the command line).
    """
    return validate_workflow(
        ir, registry if registry is not None else Registry(), params_known=False
    )
