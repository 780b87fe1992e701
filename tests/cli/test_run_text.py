"""`pflow run` in text mode: which value is printed, how, and what goes to stderr."""

from __future__ import annotations

import json

import pytest

SUCCESS = b"Workflow executed successfully\n"


def test_prints_stdout_of_the_only_node(flows, invoke):
    flows.shell("echo hello")
    result = invoke(["run", "flow.json"])
    assert result.code == 0
    assert result.stdout == b"hello\n"
    assert result.stderr == b""


@pytest.mark.parametrize(
    ("printf", "expected"),
    [
        ("hi", b"hi\n"),
        ("hi\\n", b"hi\n"),
        ("hi\\n\\n\\n", b"hi\n"),
        ("a\\nb\\n", b"a\nb\n"),
    ],
)
def test_exactly_one_trailing_newline(flows, invoke, printf, expected):
    flows.shell(f"printf '{printf}'")
    result = invoke(["run", "flow.json"])
    assert (result.code, result.stdout, result.stderr) == (0, expected, b"")


def test_unicode_is_printed_as_utf8(flows, invoke):
    flows.shell("printf 'h\\303\\251llo \\342\\234\\223'")
    result = invoke(["run", "flow.json"])
    assert result.stdout == "héllo ✓\n".encode()


def test_ansi_codes_are_stripped_when_stdout_is_not_a_terminal(flows, invoke):
    flows.shell("printf '\\033[31mred\\033[0m'")
    result = invoke(["run", "flow.json"])
    assert result.stdout == b"red\n"


def test_nothing_selected_prints_success_line(flows, invoke):
    flows.shell("true")
    result = invoke(["run", "flow.json"])
    assert (result.code, result.stdout, result.stderr) == (0, SUCCESS, b"")


def test_output_key_selects_a_node_output_path(flows, invoke):
    flows.shell("echo out; echo err >&2")
    result = invoke(["run", "flow.json", "-o", "run.stderr"])
    assert (result.code, result.stdout, result.stderr) == (0, b"err\n", b"")


def test_output_key_selects_a_root_key(flows, invoke):
    flows.shell("echo from-node")
    result = invoke(["run", "flow.json", "--output-key", "greeting", "greeting=hi there"])
    assert (result.code, result.stdout) == (0, b"hi there\n")


def test_output_key_non_string_is_printed_as_json(flows, invoke):
    flows.shell("exit 0")
    result = invoke(["run", "flow.json", "-o", "run.exit_code"])
    assert (result.code, result.stdout) == (0, b"0\n")


def test_output_key_object_is_printed_as_indented_json(flows, invoke):
    flows.shell("true")
    result = invoke(["run", "flow.json", "-o", "cfg", 'cfg={"b": [1, true], "a": "é"}'])
    assert result.code == 0
    assert (
        result.stdout
        == (json.dumps({"b": [1, True], "a": "é"}, indent=2, ensure_ascii=False) + "\n").encode()
    )


def test_missing_output_key_warns_and_prints_success_line(flows, invoke):
    flows.shell("echo hello")
    result = invoke(["run", "flow.json", "-o", "nope"])
    assert result.code == 0
    assert result.stdout == SUCCESS
    assert result.stderr == b"Warning: output key 'nope' not found in the results\n"


def test_declared_output_wins_over_auto_detection(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(
            flows.shell_node("first", "echo declared"),
            flows.shell_node("second", "echo auto"),
            outputs={"answer": {"source": "${first.stdout}", "description": "The answer"}},
        ),
    )
    result = invoke(["run", "flow.json"])
    assert (result.code, result.stdout, result.stderr) == (0, b"declared\n", b"")


def test_first_declared_output_present_is_printed(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(
            flows.shell_node("a", "echo A"),
            flows.shell_node("b", "echo B"),
            outputs={
                "never": {"source": "${a.error}"},
                "second": {"source": "${b.stdout}"},
                "first": {"source": "${a.stdout}"},
            },
        ),
    )
    result = invoke(["run", "flow.json"])
    assert result.stdout == b"B\n"


def test_auto_detect_prefers_the_last_node_that_printed(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(flows.shell_node("a", "echo A"), flows.shell_node("b", "echo B")),
    )
    assert invoke(["run", "flow.json"]).stdout == b"B\n"


def test_auto_detect_skips_a_last_node_with_empty_stdout(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(flows.shell_node("a", "echo A"), flows.shell_node("b", "true")),
    )
    assert invoke(["run", "flow.json"]).stdout == b"A\n"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (["response=R", "output=O", "result=X", "text=T"], b"R\n"),
        (["output=O", "result=X", "text=T"], b"O\n"),
        (["result=X", "text=T"], b"X\n"),
        (["text=T"], b"T\n"),
        ([], b"S\n"),
    ],
)
def test_auto_detect_key_priority(flows, invoke, params, expected):
    flows.shell("echo S")
    result = invoke(["run", "flow.json", *params])
    assert (result.code, result.stdout) == (0, expected)


def test_llm_response_beats_a_later_shell_stdout(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(
            {"id": "ask", "type": "llm", "params": {"prompt": "ping", "model": "echo"}},
            flows.shell_node("after", "echo shell"),
        ),
    )
    result = invoke(["run", "flow.json"])
    assert result.code == 0, result
    printed = json.loads(result.out)
    assert printed["prompt"] == "ping"
    assert result.stdout.endswith(b"}\n")


def test_verbose_lines_go_to_stderr_only(flows, invoke):
    flows.shell("echo hello")
    result = invoke(["run", "flow.json", "-v", "who=Ada"])
    assert result.code == 0
    assert result.stdout == b"hello\n"
    lines = result.err.splitlines()
    assert lines[0].startswith("pflow: workflow 'flow.json' from ")
    assert 'pflow: parameters: {"who": "Ada"}' in lines
    assert "pflow: workflow has 1 node(s)" in lines
    assert lines[-1] == "pflow: workflow completed"


def test_unused_declared_input_is_a_warning_on_stderr(flows, invoke):
    flows.shell("echo hi", inputs={"unused": {"type": "string", "required": False}})
    result = invoke(["run", "flow.json"])
    assert result.code == 0
    assert result.stdout == b"hi\n"
    assert result.stderr == b"Warning: Declared input 'unused' is never used\n"


def test_print_flag_does_not_change_text_output(flows, invoke):
    flows.shell("echo hello")
    assert invoke(["run", "flow.json", "-p"]).stdout == b"hello\n"


def test_node_failure_is_one_error_block_on_stderr(flows, invoke):
    flows.shell("echo oops >&2; exit 3", node_id="boom")
    result = invoke(["run", "flow.json"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err == (
        "Error: Node 'boom' (shell) failed: Command failed with exit code 3: oops\n"
        "  Node: boom (shell)\n"
        'Hint: Add an edge from \'boom\' with "action": "error" to handle this failure\n'
    )


def test_error_edge_handles_a_failure(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(
            flows.shell_node("boom", "exit 3"),
            flows.shell_node("fix", "echo handled"),
            edges=[{"from": "boom", "to": "fix", "action": "error"}],
        ),
    )
    result = invoke(["run", "flow.json"])
    assert (result.code, result.stdout, result.stderr) == (0, b"handled\n", b"")


def test_node_exception_has_no_traceback_without_verbose(flows, invoke):
    flows.shell("echo hi", params={"cwd": "/nonexistent/dir"})
    result = invoke(["run", "flow.json"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith("Error: Node 'run' (shell): working directory '/nonexistent/dir'")
    assert "  Node: run (shell)\n" in result.err
    assert "Traceback" not in result.err


def test_node_exception_shows_traceback_with_verbose(flows, invoke):
    flows.shell("echo hi", params={"cwd": "/nonexistent/dir"})
    result = invoke(["run", "flow.json", "--verbose"])
    assert result.code == 1
    assert result.stdout == b""
    assert "Traceback (most recent call last):" in result.err
    assert "\nError: Node 'run' (shell): working directory" in result.err


def test_invalid_json_error_shows_line_and_context(flows, invoke):
    flows.write("flow.json", '{\n  "nodes": [\n}\n')
    result = invoke(["run", "flow.json"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err == (
        "Error: Invalid JSON at line 3, column 1: Expecting value\n"
        "  At: flow.json\n"
        '     2 |   "nodes": [\n'
        "     3 | }\n"
        "       | ^\n"
        "Hint: Fix the JSON syntax and try again\n"
    )


def test_template_error_names_node_and_param(flows, invoke):
    flows.shell("echo ${missing.stdout}", node_id="use")
    result = invoke(["run", "flow.json"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith(
        "Error: Node 'use', param 'command': ${missing.stdout} refers to 'missing', "
    )
    assert "Traceback" not in result.err


def test_unknown_node_type_is_invalid_workflow(flows, invoke):
    flows.write("flow.json", flows.ir({"id": "x", "type": "shel", "params": {}}))
    result = invoke(["run", "flow.json"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith("Error: Node 'x': Unknown node type 'shel'\n")
    assert "Did you mean 'shell'?" in result.err


def test_file_nodes_pipeline(flows, invoke, sandbox):
    out_dir = sandbox.workdir / "out"
    flows.write(
        "flow.json",
        flows.ir(
            {
                "id": "write",
                "type": "write-file",
                "params": {"file_path": "out/a.txt", "content": "${text}"},
            },
            {
                "id": "copy",
                "type": "copy-file",
                "params": {"source_path": "out/a.txt", "dest_path": "out/b.txt"},
            },
            {
                "id": "move",
                "type": "move-file",
                "params": {"source_path": "out/b.txt", "dest_path": "out/c.txt"},
            },
            {
                "id": "delete",
                "type": "delete-file",
                "params": {"file_path": "out/a.txt", "confirm_delete": True},
            },
            {"id": "read", "type": "read-file", "params": {"file_path": "out/c.txt"}},
            inputs={"text": {"type": "string"}},
            outputs={"content": {"source": "${read.content}"}},
        ),
    )
    result = invoke(["run", "flow.json", "text=héllo\nworld"])
    assert (result.code, result.stdout, result.stderr) == (0, "héllo\nworld\n".encode(), b"")
    assert sorted(p.name for p in out_dir.iterdir()) == ["c.txt"]


def test_read_missing_file_fails_with_the_reason(flows, invoke, sandbox):
    flows.write(
        "flow.json",
        flows.ir({"id": "read", "type": "read-file", "params": {"file_path": "nope.txt"}}),
    )
    result = invoke(["run", "flow.json"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith(
        f"Error: Node 'read' (read-file) failed: File not found: {sandbox.workdir / 'nope.txt'}\n"
    )


def test_directory_as_workflow_is_invalid(invoke, sandbox):
    (sandbox.workdir / "adir.json").mkdir()
    result = invoke(["run", "adir.json"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith("Error: 'adir.json' is a directory, not a workflow file\n")


def test_non_utf8_workflow_file_is_invalid(sandbox, invoke):
    (sandbox.workdir / "latin.json").write_bytes(b'{"x": "\xe9"}')
    result = invoke(["run", "latin.json"])
    assert result.code == 3
    assert result.err.startswith("Error: Workflow file is not UTF-8 text (byte 7)\n")


def test_hand_edited_invalid_saved_workflow_is_invalid(flows, invoke, sandbox):
    flows.shell("echo hi")
    assert invoke(["workflow", "save", "flow.json", "edited"]).code == 0
    path = sandbox.workflows_dir / "edited.json"
    wrapper = json.loads(path.read_text())
    wrapper["ir"]["nodes"] = []
    path.write_text(json.dumps(wrapper))
    result = invoke(["edited"])
    assert result.code == 3
    assert result.err.startswith(
        "Error: Invalid workflow at /nodes: must contain at least one item"
    )


@pytest.fixture
def broken_stdin_reader(monkeypatch):
    """Make pflow itself fail with an unexpected exception (a bug) before the run starts."""

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("pflow.core.run_pipeline.read_stdin", boom)


def test_unexpected_exception_is_reported_without_traceback(broken_stdin_reader, flows, invoke):
    flows.shell("cat")
    result = invoke(["run", "flow.json"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err == (
        "Error: Unexpected RuntimeError: simulated bug\n"
        "Hint: This is probably a bug in pflow; run again with --verbose for the traceback\n"
    )


def test_unexpected_exception_traceback_with_verbose(broken_stdin_reader, flows, invoke):
    flows.shell("cat")
    result = invoke(["run", "flow.json", "-v"])
    assert result.code == 1
    assert "Traceback (most recent call last):" in result.err
    assert "RuntimeError: simulated bug\n" in result.err


def test_unexpected_exception_json_document(broken_stdin_reader, flows, invoke):
    flows.shell("cat")
    result = invoke(["run", "flow.json", "--output-format", "json"])
    assert result.code == 1
    assert result.stderr == b""
    assert result.json()["error"]["message"] == "Unexpected RuntimeError: simulated bug"
