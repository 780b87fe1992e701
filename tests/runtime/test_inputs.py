"""Run parameters: the name rule, text-to-value conversion, prepare_inputs (`runtime.inputs`)."""

from __future__ import annotations

from typing import Any

import pytest

from pflow.foundation.exceptions import InvalidWorkflowError, ParameterError
from pflow.runtime.inputs import (
    check_type,
    coerce_value,
    describe_inputs,
    infer_value,
    is_required,
    name_problem,
    prepare_inputs,
)

# --- name rule ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "file_path", "my-input", "x1", "_x", "ünï", "a.b", "A=B"])
def test_valid_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("\t", "cannot be empty"),
        ("a b", "cannot contain spaces"),
        ("a\tb", "cannot contain tabs"),
        ("a$b", "cannot contain '$'"),
        ("a|b", "cannot contain shell special characters"),
        ("a>b", "cannot contain shell special characters"),
        ("a<b", "cannot contain shell special characters"),
        ("a&b", "cannot contain shell special characters"),
        ("a;b", "cannot contain shell special characters"),
        ("a`b", "cannot contain shell special characters"),
        ("a\nb", "cannot contain control characters"),
        ("a\rb", "cannot contain control characters"),
        ("a\0b", "cannot contain control characters"),
        ('a"b', "cannot contain quotes"),
        ("a'b", "cannot contain quotes"),
        ("a\\b", "cannot contain backslashes"),
    ],
)
def test_invalid_names(name: str, problem: str) -> None:
    assert name_problem(name) == problem


# --- inference of untyped command-line values ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("-7", -7),
        ("3.14", 3.14),
        ("1e3", 1000.0),
        ("true", True),
        ("FALSE", False),
        (" True ", True),
        ('[1,2,"x"]', [1, 2, "x"]),
        ('{"a":1}', {"a": 1}),
        ("  [1] ", [1]),
        ("{bad", "{bad"),
        ("[not json", "[not json"),
        ("a=b", "a=b"),
        ("", ""),
        ("0x10", "0x10"),
        ("007", 7),
        ("nan", "nan"),
        ("inf", "inf"),
        ("-inf", "-inf"),
        ("1e400", "1e400"),
        ("1_000", 1000),
        (" 5", 5),
        ("hello", "hello"),
        ("yes", "yes"),
        ("null", "null"),
        ("1.2.3", "1.2.3"),
    ],
)
def test_infer_value(text: str, expected: Any) -> None:
    value = infer_value(text)
    assert value == expected
    assert type(value) is type(expected)


# --- conversion to a declared type --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "type_name", "expected"),
    [
        ("42", "string", "42"),
        ("true", "string", "true"),
        ("  spaced ", "string", "  spaced "),
        ("42", "number", 42),
        ("2.5", "number", 2.5),
        (" -1 ", "number", -1),
        ("TRUE", "boolean", True),
        ("false", "boolean", False),
        ('{"a": [1]}', "object", {"a": [1]}),
        ("[1, 2]", "array", [1, 2]),
        ("[]", "array", []),
        ("42", "mystery", 42),  # unknown declared type: inferred
    ],
)
def test_coerce_value(text: str, type_name: str, expected: Any) -> None:
    value = coerce_value(text, type_name)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "type_name"),
    [
        ("abc", "number"),
        ("true", "number"),
        ("nan", "number"),
        ("", "number"),
        ("yes", "boolean"),
        ("1", "boolean"),
        ("[1]", "object"),
        ("{bad", "object"),
        ("{}", "array"),
        ("x", "array"),
    ],
)
def test_coerce_value_rejects_misfits(text: str, type_name: str) -> None:
    with pytest.raises(ValueError):
        coerce_value(text, type_name)


@pytest.mark.parametrize(
    ("value", "type_name", "fits"),
    [
        ("s", "string", True),
        (1, "string", False),
        (1, "number", True),
        (1.5, "number", True),
        (True, "number", False),
        (False, "boolean", True),
        (0, "boolean", False),
        ({}, "object", True),
        ([], "object", False),
        ([], "array", True),
        ("[]", "array", False),
        (object(), None, True),
        ("anything", "unknown-type", True),
    ],
)
def test_check_type(value: Any, type_name: str | None, fits: bool) -> None:
    assert check_type(value, type_name) is fits


@pytest.mark.parametrize(
    ("decl", "required"),
    [
        ({}, True),
        ({"type": "string"}, True),
        ({"default": "x"}, False),
        ({"default": None}, False),
        ({"required": False}, False),
        ({"required": True, "default": "x"}, True),
    ],
)
def test_is_required(decl: dict[str, Any], required: bool) -> None:
    assert is_required(decl) is required


# --- prepare_inputs -----------------------------------------------------------------------


def _ir(inputs: dict[str, Any] | None = None, node_ids: tuple[str, ...] = ("a",)) -> dict[str, Any]:
    ir: dict[str, Any] = {
        "ir_version": "0.1.0",
        "nodes": [{"id": i, "type": "shell", "params": {"command": "true"}} for i in node_ids],
    }
    if inputs is not None:
        ir["inputs"] = inputs
    return ir


def test_defaults_are_applied_and_inputs_with_a_default_are_optional() -> None:
    ir = _ir({"name": {"default": "World"}, "n": {"type": "number", "default": None}})
    assert prepare_inputs(ir, {}) == {"name": "World", "n": None}


def test_given_value_wins_over_default() -> None:
    ir = _ir({"name": {"default": "World"}})
    assert prepare_inputs(ir, {"name": "Bob"}) == {"name": "Bob"}


def test_optional_input_without_default_stays_absent() -> None:
    assert prepare_inputs(_ir({"opt": {"required": False}}), {}) == {}


def test_missing_required_input() -> None:
    ir = _ir({"name": {"description": "Who to greet", "required": True, "default": "x"}})
    with pytest.raises(ParameterError) as info:
        prepare_inputs(ir, {})
    err = info.value
    assert isinstance(err, InvalidWorkflowError)
    assert err.exit_code == 3
    assert err.message == "Missing required input 'name'"
    assert err.details is not None
    assert "name (any, required" in err.details
    assert "Who to greet" in err.details
    assert err.hint is not None and "name=<value>" in err.hint


def test_every_problem_is_reported_at_once() -> None:
    ir = _ir({"a": {}, "b": {"type": "number"}})
    with pytest.raises(ParameterError) as info:
        prepare_inputs(ir, {"b": "x", "zz": 1, "bad name": 2}, from_text=True)
    message = info.value.message
    assert message.startswith("Invalid parameters:\n")
    assert "Invalid parameter name 'bad name': cannot contain spaces" in message
    assert "Unknown parameter 'zz'" in message
    assert "Parameter 'b' has the wrong type: expected a number, got 'x'" in message
    assert "Missing required input 'a'" in message
    assert len(message.splitlines()) == 5


def test_unknown_names_are_allowed_when_nothing_is_declared() -> None:
    assert prepare_inputs(_ir(), {"anything": "1"}, from_text=True) == {"anything": 1}


def test_invalid_parameter_name_is_rejected_without_declared_inputs() -> None:
    with pytest.raises(ParameterError, match=r"Invalid parameter name 'a\$b'"):
        prepare_inputs(_ir(), {"a$b": "1"})


def test_parameter_named_like_a_node_is_rejected() -> None:
    with pytest.raises(ParameterError, match="same name as a node"):
        prepare_inputs(_ir(node_ids=("greet",)), {"greet": "x"})


def test_text_values_follow_the_declared_type() -> None:
    ir = _ir(
        {
            "s": {"type": "string"},
            "n": {"type": "number"},
            "b": {"type": "boolean"},
            "o": {"type": "object"},
            "l": {"type": "array"},
            "u": {},
        }
    )
    params = {"s": "007", "n": "007", "b": "True", "o": '{"k": 1}', "l": "[1]", "u": "007"}
    assert prepare_inputs(ir, params, from_text=True) == {
        "s": "007",
        "n": 7,
        "b": True,
        "o": {"k": 1},
        "l": [1],
        "u": 7,
    }


def test_typed_values_are_checked_not_converted() -> None:
    ir = _ir({"n": {"type": "number"}})
    assert prepare_inputs(ir, {"n": 5}) == {"n": 5}
    with pytest.raises(ParameterError, match="expected number"):
        prepare_inputs(ir, {"n": "5"})


def test_describe_inputs() -> None:
    assert describe_inputs({}) == "This workflow declares no inputs."
    text = describe_inputs(
        {
            "name": {"type": "string", "description": "Who", "default": "World"},
            "count": {"type": "number"},
        }
    )
    assert text.splitlines() == [
        "Declared inputs:",
        '  name (string, optional, default "World"): Who',
        "  count (number, required)",
    ]
