"""Piped standard input: `${stdin}`, shell nodes, binary data, empty input."""

from __future__ import annotations

import pytest


@pytest.fixture
def stdin_echo(test_nodes, flows):
    return flows.write("flow.json", flows.ir(flows.echo_node("e", data="${stdin}")))


def stdin_value(result):
    assert result.code == 0, result
    return result.json()["result"]["e.data"]


JSON_DATA = ["--output-format", "json", "-o", "e.data"]


@pytest.mark.parametrize(
    ("piped", "value"),
    [
        (b"hello", "hello"),
        (b"hello\n", "hello"),
        (b"a\nb\n\n", "a\nb\n"),
        (b"line\r\n", "line\r"),
        ("héllo ✓\n".encode(), "héllo ✓"),
        (b"nul\x00inside", "nul\x00inside"),
    ],
)
def test_piped_text_is_stdin_with_one_trailing_newline_removed(stdin_echo, invoke, piped, value):
    assert stdin_value(invoke(["run", "flow.json", *JSON_DATA], stdin=piped)) == value


def test_stdin_in_a_template_string(test_nodes, flows, invoke):
    flows.write("flow.json", flows.ir(flows.echo_node("e", message="got: ${stdin}!")))
    result = invoke(["run", "flow.json", "-o", "e.echo"], stdin=b"data\n")
    assert (result.code, result.stdout, result.stderr) == (0, b"got: data!\n", b"")


def test_console_script_reads_piped_stdin(test_nodes, flows, run_pflow):
    flows.write("flow.json", flows.ir(flows.echo_node("e", message="${stdin}")))
    result = run_pflow(["flow.json", "-o", "e.echo"], stdin=b"from a pipe\n")
    assert (result.code, result.stdout, result.stderr) == (0, b"from a pipe\n", b"")


def test_shell_node_receives_piped_stdin_by_default(flows, run_pflow):
    flows.shell("tr a-z A-Z")
    result = run_pflow(["flow.json"], stdin=b"shout\n")
    assert (result.code, result.stdout, result.stderr) == (0, b"SHOUT\n", b"")


def test_shell_stdin_param_takes_precedence_over_piped_data(flows, run_pflow):
    flows.shell("cat", params={"stdin": "own input"})
    result = run_pflow(["flow.json"], stdin=b"piped\n")
    assert (result.code, result.stdout) == (0, b"own input\n")


def test_binary_stdin_reaches_a_shell_node_unchanged(flows, run_pflow):
    flows.shell("od -An -tx1 | tr -d ' \\n'")
    result = run_pflow(["flow.json"], stdin=b"\xff\xfe\x00\x80ok")
    assert (result.code, result.stdout, result.stderr) == (0, b"fffe00806f6b\n", b"")


def test_binary_stdin_in_json_output_is_described_not_dumped(stdin_echo, run_pflow):
    result = run_pflow(["flow.json", *JSON_DATA], stdin=b"\xff\xfe\x00\x80")
    assert result.code == 0, result
    assert result.stderr == b""
    assert result.json()["result"] == {"e.data": {"_type": "binary", "size": 4}}


def test_binary_stdin_in_text_output_is_described_not_dumped(stdin_echo, run_pflow):
    result = run_pflow(["flow.json", "-o", "e.data"], stdin=b"\xff\xfe\x00\x80")
    assert (result.code, result.stdout, result.stderr) == (0, b"<binary data: 4 bytes>\n", b"")


def test_binary_stdin_into_a_text_param_fails_cleanly(test_nodes, flows, run_pflow):
    flows.write("flow.json", flows.ir(flows.echo_node("e", message="${stdin}")))
    result = run_pflow(["flow.json"], stdin=b"\xff\xfe")
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith("Error: Node 'e' (echo): parameter 'message' must be a string")
    assert "Traceback" not in result.err


def test_empty_stdin_counts_as_no_stdin(stdin_echo, invoke):
    result = invoke(["run", "flow.json"], stdin=b"")
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith(
        "Error: Template ${stdin} in node 'e' (param 'data') has no value when the node runs\n"
    )
    assert "Hint: Pipe data into pflow, e.g. `echo hello | pflow run workflow.json`\n" in result.err


def test_a_lone_newline_is_one_empty_line_of_text(stdin_echo, invoke):
    assert stdin_value(invoke(["run", "flow.json", *JSON_DATA], stdin=b"\n")) == ""


def test_stdin_is_not_a_parameter_name(flows, invoke):
    flows.shell("echo ${stdin}")
    result = invoke(["run", "flow.json"], stdin=b"piped")
    assert (result.code, result.stdout) == (0, b"piped\n")


def test_large_stdin_that_no_node_reads_is_harmless(flows, run_pflow):
    flows.shell("echo ignored the input")
    result = run_pflow(["flow.json"], stdin=b"x" * (8 * 1024 * 1024))
    assert (result.code, result.stdout, result.stderr) == (0, b"ignored the input\n", b"")
