"""Checking a workflow IR against its JSON Schema, with errors that say how to fix them."""

from __future__ import annotations

import json
from typing import Any

from pflow.foundation.exceptions import SchemaValidationError
from pflow.foundation.json_safe import NestingError, json_pointer, too_deep
from pflow.foundation.schemas import IR_SCHEMA, conforms, load_schema


def nesting_error(exc: NestingError, path: str | None = None) -> SchemaValidationError:
    """The error for a workflow whose JSON is nested more deeply than pflow reads."""
    return SchemaValidationError(
        f"The workflow is {exc}",
        hint="Keep values at most that deep; pass large structured data in a file instead",
        pointer=exc.pointer,
        path=path,
    )


def validate_ir_schema(ir: Any) -> None:
    """Raise SchemaValidationError describing the most relevant schema violation, if any."""
    deep = too_deep(ir)
    if deep is not None:
        raise nesting_error(NestingError(deep))
    if conforms(IR_SCHEMA, ir):
        return  # valid: no need to import jsonschema, which only words the error
    import jsonschema  # deferred: only invalid workflows pay for it

    validator_cls = jsonschema.validators.validator_for(load_schema(IR_SCHEMA))
    validator = validator_cls(load_schema(IR_SCHEMA))
    error = jsonschema.exceptions.best_match(validator.iter_errors(ir))
    if error is None:
        return
    pointer = json_pointer(error.absolute_path)
    raise SchemaValidationError(
        f"Invalid workflow at {pointer or '/'}: {_describe(error)}",
        hint=_hint(error),
        pointer=pointer,
        node_id=_node_id(ir, list(error.absolute_path)),
    )


def _describe(error: Any) -> str:
    kind = error.validator
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}"
    if kind == "required":
        return str(error.message).replace(" is a required property", " is required")
    if kind == "type":
        return f"expected {_type_words(error.validator_value)}, got {_json_type(error.instance)}"
    if kind == "minItems" and error.validator_value == 1:
        return "must contain at least one item"
    if kind == "pattern" and list(error.absolute_path) == ["ir_version"]:
        return f"{error.instance!r} is not a version like '0.1.0'"
    if kind == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return f"{json.dumps(error.instance)} is not one of {allowed}"
    return str(error.message)


def _hint(error: Any) -> str | None:
    kind = error.validator
    if kind == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"Allowed keys here: {allowed}"
    if kind == "required":
        return "Add the missing key"
    if kind == "pattern" and list(error.absolute_path) == ["ir_version"]:
        return 'Use "ir_version": "0.1.0"'
    if kind == "minItems":
        return "Add at least one node"
    return None


def _node_id(ir: Any, path: list[Any]) -> str | None:
    if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
        try:
            node_id = ir["nodes"][path[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        return node_id if isinstance(node_id, str) else None
    return None


def _type_words(value: Any) -> str:
    if isinstance(value, list):
        return " or ".join(str(v) for v in value)
    return {"object": "an object", "array": "an array", "integer": "an integer"}.get(
        str(value), f"a {value}"
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
