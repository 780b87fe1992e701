"""Loading the IR schema and turning schema violations into located errors (`runtime.ir_schema`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import InvalidWorkflowError, SchemaValidationError
from pflow.foundation.schemas import IR_SCHEMA, load_schema, schema_dir
from pflow.runtime.ir_schema import json_pointer, validate_ir_schema

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "schemas" / "workflow-ir"
NODES = [{"id": "a", "type": "shell", "params": {"command": "true"}}]


def _ir(**extra: Any) -> dict[str, Any]:
    return {"ir_version": "0.1.0", "nodes": NODES, **extra}


def _error(ir: Any) -> SchemaValidationError:
    with pytest.raises(SchemaValidationError) as info:
        validate_ir_schema(ir)
    return info.value


def test_loads_the_schema_shipped_in_the_repository() -> None:
    on_disk = json.loads((REPO / "schemas" / IR_SCHEMA).read_text(encoding="utf-8"))
    assert (schema_dir() / IR_SCHEMA).is_file()
    assert load_schema(IR_SCHEMA) == on_disk
    assert load_schema(IR_SCHEMA) is load_schema(IR_SCHEMA)  # parsed once per process


@pytest.mark.parametrize(
    ("parts", "pointer"),
    [
        ([], ""),
        (["nodes", 0, "id"], "/nodes/0/id"),
        (["inputs", "a/b", "c~d"], "/inputs/a~1b/c~0d"),
    ],
)
def test_json_pointer(parts: list[Any], pointer: str) -> None:
    assert json_pointer(parts) == pointer


@pytest.mark.parametrize(
    "ir",
    [
        _ir(),
        _ir(edges=[]),
        _ir(edges=[{"from": "a", "to": "a", "action": "again"}], start_node="a"),
        _ir(enable_namespacing=False, mappings={"a": {"input_mappings": {"x": "y"}}}),
        _ir(inputs={"x": {"type": "array", "default": None}}, outputs={"y": {"source": "a.b"}}),
    ],
)
def test_valid_workflows_pass(ir: dict[str, Any]) -> None:
    validate_ir_schema(ir)


@pytest.mark.parametrize(
    ("ir", "message", "pointer", "hint"),
    [
        (
            {"nodes": NODES},
            "Invalid workflow at /: 'ir_version' is required",
            "",
            "Add the missing key",
        ),
        (
            {"ir_version": "1.0", "nodes": NODES},
            "Invalid workflow at /ir_version: '1.0' is not a version like '0.1.0'",
            "/ir_version",
            'Use "ir_version": "0.1.0"',
        ),
        (
            {"ir_version": 1.0, "nodes": NODES},
            "Invalid workflow at /ir_version: expected a string, got the number 1.0",
            "/ir_version",
            None,
        ),
        (
            {"ir_version": "0.1.0", "nodes": []},
            "Invalid workflow at /nodes: must contain at least one item",
            "/nodes",
            "Add at least one node",
        ),
        (
            {"ir_version": "0.1.0", "nodes": {"id": "a"}},
            "Invalid workflow at /nodes: expected an array, got an object",
            "/nodes",
            None,
        ),
        (
            _ir(name="x", description="y"),
            "Invalid workflow at /: unknown keys 'description', 'name'",
            "",
            "Allowed keys here: edges, enable_namespacing, inputs, ir_version, mappings, nodes, "
            "outputs, start_node",
        ),
        (
            _ir(edges=[{"from": "a", "to": "a", "action": 5}]),
            "Invalid workflow at /edges/0/action: expected a string, got the number 5",
            "/edges/0/action",
            None,
        ),
        (
            _ir(edges=[{"to": "a"}]),
            "Invalid workflow at /edges/0: 'from' is required",
            "/edges/0",
            "Add the missing key",
        ),
        (
            _ir(inputs={"x": {"type": "str"}}),
            'Invalid workflow at /inputs/x/type: "str" is not one of "string", "number", '
            '"boolean", "object", "array"',
            "/inputs/x/type",
            None,
        ),
        (
            _ir(enable_namespacing="yes"),
            'Invalid workflow at /enable_namespacing: expected a boolean, got the string "yes"',
            "/enable_namespacing",
            None,
        ),
        (
            [],
            "Invalid workflow at /: expected an object, got an array",
            "",
            None,
        ),
        (
            _ir(mappings={"a": {"foo": {}}}),
            "Invalid workflow at /mappings/a: unknown key 'foo'",
            "/mappings/a",
            "Allowed keys here: input_mappings, output_mappings",
        ),
    ],
)
def test_schema_errors_are_located_and_explained(
    ir: Any, message: str, pointer: str, hint: str | None
) -> None:
    err = _error(ir)
    assert isinstance(err, InvalidWorkflowError)
    assert err.exit_code == 3
    assert err.message == message
    assert err.pointer == pointer
    assert err.hint == hint


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"id": "a"}, "Invalid workflow at /nodes/1: 'type' is required"),
        (
            {"id": "a", "type": "shell", "parms": {}},
            "Invalid workflow at /nodes/1: unknown key 'parms'",
        ),
        (
            {"id": "a", "type": "shell", "params": []},
            "Invalid workflow at /nodes/1/params: expected an object, got an array",
        ),
    ],
)
def test_node_errors_name_the_node(node: dict[str, Any], message: str) -> None:
    ir = {"ir_version": "0.1.0", "nodes": [{"id": "first", "type": "shell"}, node]}
    err = _error(ir)
    assert err.message == message
    assert err.node_id == "a"
    assert err.pointer is not None and err.pointer.startswith("/nodes/1")


def test_node_without_a_string_id_has_no_node_id() -> None:
    err = _error({"ir_version": "0.1.0", "nodes": [{"id": 7, "type": "shell"}]})
    assert err.pointer == "/nodes/0/id"
    assert err.node_id is None


@pytest.mark.parametrize("path", sorted((FIXTURES / "valid").glob("*.json")), ids=lambda p: p.name)
def test_valid_fixtures_pass_the_runtime_check(path: Path) -> None:
    validate_ir_schema(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "invalid").glob("*.json")), ids=lambda p: p.name
)
def test_invalid_fixtures_fail_the_runtime_check(path: Path) -> None:
    err = _error(json.loads(path.read_text(encoding="utf-8")))
    assert err.message.startswith("Invalid workflow at /")
