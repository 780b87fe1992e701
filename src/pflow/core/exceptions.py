"""The one exception tree of pflow; every layer may import it, it imports nothing from pflow.

    PflowError                       exit 1 unless a subclass says otherwise
    ├── InvalidWorkflowError         exit 3: the workflow or its parameters cannot run
    │   ├── WorkflowSyntaxError      the file is not readable JSON
    │   ├── SchemaValidationError    the IR breaks the schema or a cross-reference rule
    │   ├── CompilationError         unknown node type, bad start node, ...
    │   ├── TemplateValidationError  a ${...} that can never resolve
    │   └── ParameterError           missing, unknown or mistyped run parameters
    ├── WorkflowNotFoundError        exit 4 (also a FileNotFoundError)
    ├── WorkflowExistsError          a save would overwrite an existing workflow
    ├── WorkflowStorageError         a saved file cannot be read, parsed or written
    ├── WorkflowFailedError          the workflow ran and ended on an error action
    ├── NodeExecutionError           a node raised while running
    │   └── TemplateResolutionError  a ${...} had no value when its node ran
    ├── NodeParamError               a node's parameter is missing or has the wrong type
    └── Interrupted                  exit 130: Ctrl-C (SIGINT) stopped the run

Each error carries what went wrong (`message`), where (`node_id`, `pointer` as a JSON pointer,
`path` of a file) and, when pflow knows one, how to fix it (`hint`).
"""

from __future__ import annotations

from typing import Any


class PflowError(Exception):
    """Base of every error pflow reports to a user."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: str | None = None,
        node_id: str | None = None,
        node_type: str | None = None,
        pointer: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details
        self.node_id = node_id
        self.node_type = node_type
        self.pointer = pointer
        self.path = path

    def __str__(self) -> str:
        return self.message

    @property
    def error_type(self) -> str:
        """The name scripts see in `error.type` of the JSON output."""
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description: type and message, then whichever location fields are known."""
        data: dict[str, Any] = {"type": self.error_type, "message": self.message}
        for key in ("node_id", "node_type", "pointer", "path", "details", "hint"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


class InvalidWorkflowError(PflowError):
    """The workflow (or the parameters given to it) cannot be run as it stands."""

    exit_code = 3


class WorkflowSyntaxError(InvalidWorkflowError):
    """The workflow file is not valid JSON or not readable text."""


class SchemaValidationError(InvalidWorkflowError):
    """The IR breaks the JSON Schema or a cross-reference rule (ids, edges, start node)."""


class CompilationError(InvalidWorkflowError):
    """The IR is well formed but cannot be turned into a runnable flow."""


class TemplateValidationError(InvalidWorkflowError):
    """One or more `${...}` templates can never be resolved."""

    def __init__(self, problems: list[PflowError]) -> None:
        first = problems[0]
        if len(problems) == 1:
            message = first.message
        else:
            message = f"{len(problems)} template problems:\n" + "\n".join(
                f"  - {p.message}" for p in problems
            )
        super().__init__(
            message,
            hint=first.hint,
            node_id=first.node_id,
            node_type=first.node_type,
            pointer=first.pointer,
        )
        self.problems = problems


class ParameterError(InvalidWorkflowError):
    """Run parameters are missing, unknown, badly named or of the wrong type."""


class WorkflowNotFoundError(PflowError, FileNotFoundError):
    """A workflow file or saved workflow name does not exist."""

    exit_code = 4


class WorkflowExistsError(PflowError):
    """Saving would replace a workflow that already exists."""


class WorkflowStorageError(PflowError):
    """A saved workflow file cannot be read, parsed or written."""


class WorkflowFailedError(PflowError):
    """The workflow ran to its end on an `error*` action (a node reported failure)."""


class NodeExecutionError(PflowError):
    """A node raised an exception while it ran."""


class TemplateResolutionError(NodeExecutionError):
    """A template had no value at the moment its node was about to run."""


class NodeParamError(PflowError):
    """A node parameter is missing or has a value the node cannot use."""


class Interrupted(PflowError):
    """The user interrupted the run with Ctrl-C (SIGINT)."""

    exit_code = 130
