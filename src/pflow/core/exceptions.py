"""pflow's exceptions, for front ends: the tree itself lives in `pflow.foundation.exceptions`.

Every class here reports `pflow.core.exceptions` as its module, so tracebacks name this path.
"""

from __future__ import annotations

from pflow.foundation.exceptions import (
    CTRL_C_MESSAGE,
    CompilationError,
    Interrupted,
    InvalidWorkflowError,
    NodeExecutionError,
    NodeParamError,
    ParameterError,
    PflowError,
    SchemaValidationError,
    TemplateResolutionError,
    TemplateValidationError,
    Terminated,
    WorkflowExistsError,
    WorkflowFailedError,
    WorkflowNotFoundError,
    WorkflowStorageError,
    WorkflowSyntaxError,
    interruption,
)

__all__ = [
    "CTRL_C_MESSAGE",
    "CompilationError",
    "Interrupted",
    "InvalidWorkflowError",
    "NodeExecutionError",
    "NodeParamError",
    "ParameterError",
    "PflowError",
    "SchemaValidationError",
    "TemplateResolutionError",
    "TemplateValidationError",
    "Terminated",
    "WorkflowExistsError",
    "WorkflowFailedError",
    "WorkflowNotFoundError",
    "WorkflowStorageError",
    "WorkflowSyntaxError",
    "interruption",
]
