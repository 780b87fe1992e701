"""KEY=VALUE parameters: type inference, checks against declared inputs, defaults."""

from __future__ import annotations

import pytest

DECLARED = {
    "name": {"type": "string", "description": "Who to greet"},
    "count": {"type": "number", "required": False, "default": 2},
    "loud": {"type": "boolean", "required": False, "default": False},
}
DECLARED_TABLE = (
    "  Declared inputs:\n"
    "    name (string, required): Who to greet\n"
    "    count (number, optional, default 2)\n"
    "    loud (boolean, optional, default false)\n"
)


@pytest.fixture
def data_flow(test_nodes, flows):
    """Echo node whose `data` output is the parameter `v`, typed as it arrived."""

    def write(inputs=None):
        extra = {"inputs": inputs} if inputs else {}
        return flows.write("flow.json", flows.ir(flows.echo_node("e", data="${v}"), **extra))

    return write


def run_value(invoke, *words):
    result = invoke(["run", "flow.json", "--output-format", "json", "-o", "e.data", *words])
    assert result.code == 0, result
    return result.json()["result"]["e.data"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("007", 7),
        ("3.5", 3.5),
        ("1e3", 1000.0),
        ("true", True),
        ("FALSE", False),
        ("[1, 2]", [1, 2]),
        ('{"a": {"b": null}}', {"a": {"b": None}}),
        ("hello", "hello"),
        ("", ""),
        ("a=b", "a=b"),
        ("{bad", "{bad"),
        ("0x10", "0x10"),
        ("nan", "nan"),
        ("héllo wörld", "héllo wörld"),
    ],
)
def test_undeclared_values_are_inferred(data_flow, invoke, text, value):
    data_flow()
    got = run_value(invoke, f"v={text}")
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("type_name", "text", "value"),
    [
        ("string", "42", "42"),
        ("string", "true", "true"),
        ("number", "42", 42),
        ("number", "2.5", 2.5),
        ("boolean", "True", True),
        ("boolean", "false", False),
        ("array", "[1]", [1]),
        ("object", '{"k": 1}', {"k": 1}),
    ],
)
def test_declared_type_converts_values(data_flow, invoke, type_name, text, value):
    data_flow({"v": {"type": type_name}})
    got = run_value(invoke, f"v={text}")
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("type_name", "text", "reason"),
    [
        ("number", "abc", "expected a number"),
        ("boolean", "yes", "expected true or false"),
        ("array", '{"k": 1}', "expected a JSON array"),
        ("object", "[1]", "expected a JSON object"),
    ],
)
def test_wrong_type_is_rejected_before_running(flows, invoke, sandbox, type_name, text, reason):
    flows.shell("touch ran; echo ${v}", inputs={"v": {"type": type_name}})
    result = invoke(["run", "flow.json", f"v={text}"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith(
        f"Error: Parameter 'v' has the wrong type: {reason}, got {text!r}\n"
    )
    assert f"    v ({type_name}, required)\n" in result.err
    assert not (sandbox.workdir / "ran").exists()


def test_unknown_name_is_rejected_with_declared_inputs(flows, invoke, sandbox):
    flows.shell("touch ran; echo ${name} ${count} ${loud}", inputs=DECLARED)
    result = invoke(["run", "flow.json", "name=Ada", "colour=red"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err == (
        "Error: Unknown parameter 'colour'\n"
        + DECLARED_TABLE
        + "Hint: Pass inputs as name=value after the workflow, e.g. name=<value>\n"
    )
    assert not (sandbox.workdir / "ran").exists()


def test_missing_required_input_is_rejected(flows, invoke, sandbox):
    flows.shell("touch ran; echo ${name} ${count} ${loud}", inputs=DECLARED)
    result = invoke(["run", "flow.json", "count=3"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith("Error: Missing required input 'name'\n" + DECLARED_TABLE)
    assert not (sandbox.workdir / "ran").exists()


def test_all_problems_are_reported_at_once(flows, invoke):
    flows.shell("echo ${name} ${count} ${loud}", inputs=DECLARED)
    result = invoke(["run", "flow.json", "count=many", "extra=1"])
    assert result.code == 3
    assert result.err.startswith(
        "Error: Invalid parameters:\n"
        "  - Parameter 'count' has the wrong type: expected a number, got 'many'\n"
        "  - Unknown parameter 'extra'\n"
        "  - Missing required input 'name'\n"
    )


def test_defaults_apply(flows, invoke):
    flows.shell("echo ${name} ${count} ${loud}", inputs=DECLARED)
    result = invoke(["run", "flow.json", "name=Ada"])
    assert (result.code, result.stdout) == (0, b"Ada 2 false\n")


def test_given_values_override_defaults(flows, invoke):
    flows.shell("echo ${name} ${count} ${loud}", inputs=DECLARED)
    result = invoke(["run", "flow.json", "loud=true", "name=Ada", "count=2.5"])
    assert (result.code, result.stdout) == (0, b"Ada 2.5 true\n")


def test_later_duplicate_wins(flows, invoke):
    flows.shell("echo ${name}", inputs={"name": {"type": "string"}})
    assert invoke(["run", "flow.json", "name=first", "name=second"]).stdout == b"second\n"


def test_value_is_split_at_the_first_equals_sign(flows, invoke):
    flows.shell("echo '${expr}'", inputs={"expr": {"type": "string"}})
    assert invoke(["run", "flow.json", "expr=a=b=c"]).stdout == b"a=b=c\n"


def test_word_without_equals_is_a_usage_error(flows, invoke):
    flows.shell("echo hi")
    result = invoke(["run", "flow.json", "oops"])
    assert result.code == 2
    assert result.stdout == b""
    assert "expected KEY=VALUE, got 'oops'" in result.err


@pytest.mark.parametrize("word", ["a$b=1", "a b=1", "a|b=1", "=1"])
def test_invalid_parameter_names_are_rejected(flows, invoke, word):
    flows.shell("echo hi")
    result = invoke(["run", "flow.json", word])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith("Error: Invalid parameter name ")


def test_parameter_named_like_a_node_is_rejected(flows, invoke):
    flows.shell("echo hi", node_id="step")
    result = invoke(["run", "flow.json", "step=1"])
    assert result.code == 3
    assert result.err.startswith(
        "Error: Parameter 'step' has the same name as a node of the workflow\n"
    )


def test_saved_workflow_parameters_are_checked_too(flows, invoke):
    flows.shell("echo ${name}", inputs={"name": {"type": "string"}})
    assert invoke(["workflow", "save", "flow.json", "greet"]).code == 0
    result = invoke(["greet", "nme=Ada"])
    assert result.code == 3
    assert result.err.startswith("Error: Invalid parameters:\n  - Unknown parameter 'nme'\n")
    assert invoke(["greet", "name=Ada"]).stdout == b"Ada\n"
