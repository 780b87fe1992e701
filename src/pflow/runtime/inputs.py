"""Run parameters: name rules, text-to-value conversion and checks against declared inputs."""

from __future__ import annotations

import json
from typing import Any

from pflow.foundation.exceptions import ParameterError
from pflow.foundation.json_safe import loads_json
from pflow.runtime.redaction import REDACTED, is_secret_name

_FORBIDDEN = {
    " ": "spaces",
    "\t": "tabs",
    "$": "'$'",
    "\n": "control characters",
    "\r": "control characters",
    "\0": "control characters",
    '"': "quotes",
    "'": "quotes",
    "\\": "backslashes",
    **{c: "shell special characters" for c in "|><&;`"},
}
_TRUE = {"true"}
_FALSE = {"false"}


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a parameter, input or output name, or None when it is fine."""
    if not name.strip():
        return "cannot be empty"
    for char, what in _FORBIDDEN.items():
        if char in name:
            return f"cannot contain {what}"
    return None


def infer_value(text: str) -> Any:
    """Value of a command-line `key=value` text when no type is declared.

    true/false (any case) -> boolean; integer and float literals -> numbers; text starting with
    `[` or `{` that parses as JSON -> array/object; anything else stays a string.
    """
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    number = _number(text)
    if number is not None:
        return number
    if text.lstrip()[:1] in ("[", "{"):
        try:
            return loads_json(text)
        except ValueError:
            return text
    return text


def coerce_value(text: str, type_name: str) -> Any:
    """Convert command-line text to the declared input type; ValueError when it does not fit."""
    if type_name == "string":
        return text
    if type_name == "number":
        number = _number(text)
        if number is None:
            raise ValueError("expected a number")
        return number
    if type_name == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ValueError("expected true or false")
    if type_name in ("object", "array"):
        try:
            value = loads_json(text)
        except ValueError as exc:
            raise ValueError(f"expected JSON {type_name}: {exc}") from None
        if not isinstance(value, dict if type_name == "object" else list):
            raise ValueError(f"expected a JSON {type_name}")
        return value
    return infer_value(text)


def check_type(value: Any, type_name: str | None) -> bool:
    """Whether an already-typed value fits the declared input type."""
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "number": (int, float),
        "boolean": (bool,),
        "object": (dict,),
        "array": (list,),
    }
    if type_name is None or type_name not in expected:
        return True
    if type_name == "number" and isinstance(value, bool):
        return False
    return isinstance(value, expected[type_name])


def prepare_inputs(
    ir: dict[str, Any], params: dict[str, Any], *, from_text: bool = False
) -> dict[str, Any]:
    """Check `params` against the IR's declared inputs and apply defaults.

    With `from_text`, values are command-line strings converted by declared type (or inferred).
    Unknown names are rejected only when the workflow declares inputs. Every problem is
    reported at once in one ParameterError whose details list the declared inputs.
    """
    declared: dict[str, Any] = ir.get("inputs") or {}
    node_ids = {n.get("id") for n in ir.get("nodes", []) if isinstance(n, dict)}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, raw in params.items():
        why = name_problem(name)
        if why:
            problems.append(f"Invalid parameter name {name!r}: {why}")
            continue
        if name in node_ids:
            problems.append(f"Parameter '{name}' has the same name as a node of the workflow")
            continue
        if declared and name not in declared:
            problems.append(f"Unknown parameter '{name}'")
            continue
        type_name = (declared.get(name) or {}).get("type")
        try:
            values[name] = _convert(raw, type_name, from_text)
        except ValueError as exc:
            got = REDACTED if is_secret_name(name) else repr(raw)  # never echo a secret
            problems.append(f"Parameter '{name}' has the wrong type: {exc}, got {got}")
    for name, decl in declared.items():
        if name in values or name in params:
            continue
        if is_required(decl):
            problems.append(f"Missing required input '{name}'")
        elif "default" in decl:
            values[name] = decl["default"]
    if problems:
        raise ParameterError(
            problems[0]
            if len(problems) == 1
            else "Invalid parameters:\n" + "\n".join(f"  - {p}" for p in problems),
            details=describe_inputs(declared),
            hint="Pass inputs as name=value after the workflow, e.g. " + _example(declared),
        )
    return values


def is_required(decl: dict[str, Any]) -> bool:
    """An input is required unless it says `required: false` or has a default."""
    return bool(decl.get("required", "default" not in decl))


def describe_inputs(declared: dict[str, Any]) -> str:
    """Human-readable table of the declared inputs, for error messages and help."""
    if not declared:
        return "This workflow declares no inputs."
    lines = ["Declared inputs:"]
    for name, decl in declared.items():
        kind = decl.get("type", "any")
        need = "required" if is_required(decl) else "optional"
        default = f", default {json.dumps(decl['default'])}" if "default" in decl else ""
        text = f": {decl['description']}" if decl.get("description") else ""
        lines.append(f"  {name} ({kind}, {need}{default}){text}")
    return "\n".join(lines)


def _example(declared: dict[str, Any]) -> str:
    names = [n for n, d in declared.items() if is_required(d)] or list(declared)[:1]
    return " ".join(f"{n}=<value>" for n in names) if names else "name=value"


def _convert(raw: Any, type_name: str | None, from_text: bool) -> Any:
    if from_text and isinstance(raw, str):
        return coerce_value(raw, type_name) if type_name else infer_value(raw)
    if not check_type(raw, type_name):
        raise ValueError(f"expected {type_name}")
    return raw


def _number(text: str) -> int | float | None:
    stripped = text.strip()
    if not stripped:
        return None
    if not any(c in stripped for c in ".eE"):
        try:
            return int(stripped, 10)
        except ValueError:
            return None
    try:
        value = float(stripped)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None
