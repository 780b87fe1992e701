"""pflow core services: saved workflows, run output control, metrics and per-user paths."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pflow.core.output_controller import OutputController
    from pflow.core.workflow_manager import WorkflowManager

__all__ = ["OutputController", "WorkflowManager"]

# Re-exports are resolved on first access so `import pflow.foundation.exceptions` stays cheap.
_LAZY_EXPORTS = {
    "OutputController": "pflow.core.output_controller",
    "WorkflowManager": "pflow.core.workflow_manager",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
