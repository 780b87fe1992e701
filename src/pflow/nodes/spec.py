"""Declarative description of a node type: its parameters, outputs and actions.

Specs are plain data, cheap to import, so the registry can list every node type without
importing the modules that implement them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# JSON-ish type names a parameter may declare; "any" accepts every value.
PARAM_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "any"})

_MISSING: Any = object()


@dataclass(frozen=True)
class ParamSpec:
    """One parameter a node reads from its `params`."""

    name: str
    type: str
    description: str
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class OutputSpec:
    """One key a node writes into its namespace of the shared store."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class NodeSpec:
    """Everything pflow knows about a node type before importing its code."""

    name: str
    module: str
    class_name: str
    description: str
    package: str
    params: tuple[ParamSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    actions: tuple[str, ...] = ("default",)
    max_retries: int = 1
    wait: float = 0.0
    hidden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> ParamSpec | None:
        """The spec of parameter `name`, or None when the node has no such parameter."""
        for p in self.params:
            if p.name == name:
                return p
        return None

    def output_names(self) -> list[str]:
        """Names of the outputs, in declaration order."""
        return [o.name for o in self.outputs]

    def output_type(self, name: str) -> str | None:
        """Declared type of output `name`, or None when the node does not write it."""
        for o in self.outputs:
            if o.name == name:
                return o.type
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form used by `pflow registry describe --json`."""
        return {
            "name": self.name,
            "description": self.description,
            "package": self.package,
            "module": self.module,
            "class_name": self.class_name,
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "required": p.required,
                    "default": p.default,
                    "description": p.description,
                }
                for p in self.params
            ],
            "outputs": [
                {"name": o.name, "type": o.type, "description": o.description} for o in self.outputs
            ],
            "actions": list(self.actions),
        }
