"""The one exception tree of pflow (public name `pflow.core.exceptions`); every layer imports it.

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
    └── Interrupted                  exit 130: Ctrl-C (SIGINT) stopped the run; 143 (SIGTERM)
                                     and 129 (SIGHUP), raised as Terminated, stop it the same way

Each error carries what went wrong (`message`), where (`node_id`, `pointer` as a JSON pointer,
`path` of a file) and, when pflow knows one, how to fix it (`hint`).
"""

from __future__ import annotations

import signal

# typing is imported by type checkers only: `pflow --version` does not load it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


CTRL_C_MESSAGE = "Interrupted by the user (Ctrl-C)"


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
    """One or more `${...}` templates can never be resolved.

    `counts` (one per problem, default 1) says how often each distinct problem was found; at
    most LISTED_PROBLEMS are listed in the message, then how many more there are.
    """

    LISTED_PROBLEMS = 20

    def __init__(self, problems: list[PflowError], counts: list[int] | None = None) -> None:
        first = problems[0]
        counts = counts or [1] * len(problems)
        total = sum(counts)
        if total == 1:
            message = first.message
        elif len(problems) == 1:
            message = f"{first.message} ({total} times)"
        else:
            listed = [
                f"  - {p.message}" + (f" ({n} times)" if n > 1 else "")
                for p, n in zip(problems[: self.LISTED_PROBLEMS], counts, strict=False)
            ]
            if len(problems) > self.LISTED_PROBLEMS:
                listed.append(f"  - and {len(problems) - self.LISTED_PROBLEMS} more")
            message = f"{total} template problems:\n" + "\n".join(listed)
        super().__init__(
            message,
            hint=first.hint,
            node_id=first.node_id,
            node_type=first.node_type,
            pointer=first.pointer,
        )
        self.problems = problems
        self.counts = counts


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
    """The user interrupted the run with Ctrl-C (SIGINT), or a signal asked pflow to stop."""

    exit_code = 130

    def __init__(self, message: str = CTRL_C_MESSAGE, *, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP asked pflow to stop: handled like Ctrl-C, exit code 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def message(self) -> str:
        """What the user is told, e.g. "Terminated by SIGTERM"."""
        return f"Terminated by {signal.Signals(self.signum).name}"

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process stopped by a signal."""
        return 128 + self.signum


def interruption(exc: BaseException) -> Interrupted:
    """The Interrupted error for a KeyboardInterrupt, looking through the exceptions it wraps."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, Terminated):
            return Interrupted(current.message, exit_code=current.exit_code)
        if isinstance(current, Interrupted):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return Interrupted()


# The public home of these classes is `pflow.core.exceptions` (docs/service-api.md): that is
# the name tracebacks print and the module front ends import them from.
PUBLIC_MODULE = "pflow.core.exceptions"
for _error_class in (
    PflowError,
    InvalidWorkflowError,
    WorkflowSyntaxError,
    SchemaValidationError,
    CompilationError,
    TemplateValidationError,
    ParameterError,
    WorkflowNotFoundError,
    WorkflowExistsError,
    WorkflowStorageError,
    WorkflowFailedError,
    NodeExecutionError,
    TemplateResolutionError,
    NodeParamError,
    Interrupted,
    Terminated,
):
    _error_class.__module__ = PUBLIC_MODULE
del _error_class
