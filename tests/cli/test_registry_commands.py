"""`pflow registry list|describe`: the node types workflows can use."""

from __future__ import annotations

import pytest

from pflow.registry.catalog import BUILTIN_SPECS

VISIBLE = sorted(s.name for s in BUILTIN_SPECS if not s.hidden)
ALL = sorted(s.name for s in BUILTIN_SPECS)


def test_list_groups_node_types_by_package(invoke):
    result = invoke(["registry", "list"])
    assert result.code == 0
    assert result.stderr == b""
    lines = result.out.splitlines()
    assert lines[0] == "file:"
    assert "shell:" in lines
    assert "  shell        Run a shell command and capture its output and exit code." in lines
    assert lines[-2:] == ["", f"{len(VISIBLE)} node types. Details: pflow registry describe TYPE"]
    assert "echo" not in result.out


def test_list_includes_test_nodes_when_enabled(test_nodes, invoke):
    result = invoke(["registry", "list"])
    assert result.code == 0
    assert "test:\n  echo " in result.out
    assert result.out.endswith(f"{len(ALL)} node types. Details: pflow registry describe TYPE\n")


def test_list_json(invoke):
    result = invoke(["registry", "list", "--json"])
    assert (result.code, result.stderr) == (0, b"")
    nodes = result.json()["nodes"]
    assert [n["name"] for n in nodes] == VISIBLE
    assert all(list(n) == ["name", "package", "description"] for n in nodes)
    assert {"name": "read-file", "package": "file", "description": "Read a text file."} in nodes


def test_describe_text(invoke):
    result = invoke(["registry", "describe", "read-file"])
    assert (result.code, result.stderr) == (0, b"")
    assert result.out == (
        "Node type: read-file\n"
        "Package: file\n"
        "Read a text file.\n"
        "\n"
        "Parameters:\n"
        "  file_path (string, required): Path of the file to read\n"
        '  encoding (string, optional, default "utf-8"): Text encoding\n'
        "Outputs (use as ${<node id>.<output>}):\n"
        "  content (string): The file's text\n"
        "  file_path (string): Absolute path that was read\n"
        "  error (string): Why the node took its error action (only on failure)\n"
        "Actions: default, error\n"
        "\n"
        "Example node:\n"
        '  {"id": "step", "type": "read-file", "params": {"file_path": "<string>"}}\n'
    )


def test_describe_json(invoke):
    result = invoke(["registry", "describe", "shell", "--json"])
    assert result.code == 0
    spec = result.json()
    assert spec["name"] == "shell"
    assert spec["actions"] == ["default", "error"]
    command = next(p for p in spec["params"] if p["name"] == "command")
    assert command == {
        "name": "command",
        "type": "string",
        "required": True,
        "default": None,
        "description": "Command line, run by /bin/sh -c",
    }
    assert [o["name"] for o in spec["outputs"]] == ["stdout", "stderr", "exit_code", "error"]


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("shel", "Did you mean 'shell'? "), ("zzz", "")],
)
def test_describe_unknown_type_is_not_found(invoke, name, suggestion):
    result = invoke(["registry", "describe", name])
    assert result.code == 4
    assert result.stdout == b""
    assert result.err == (
        f"Error: Unknown node type '{name}'\n"
        f"Hint: {suggestion}Known node types: {', '.join(VISIBLE)}\n"
    )


def test_hidden_test_node_is_unknown_unless_enabled(invoke, monkeypatch):
    assert invoke(["registry", "describe", "echo"]).code == 4
    monkeypatch.setenv("PFLOW_INCLUDE_TEST_NODES", "1")
    result = invoke(["registry", "describe", "echo"])
    assert result.code == 0
    assert result.out.startswith("Node type: echo\nPackage: test\n")


def test_registry_without_sub_command_is_a_usage_error(invoke):
    result = invoke(["registry"])
    assert result.code == 2
    assert result.stdout == b""
    assert result.err.startswith("Usage: pflow registry [OPTIONS] COMMAND [ARGS]...")
