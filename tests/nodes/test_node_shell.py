"""The shell node against real /bin/sh subprocesses."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeExecutionError, NodeParamError
from pflow.nodes.base import json_text
from pflow.nodes.shell import ShellNode
from pflow.registry.catalog import SHELL

RunNode = Callable[..., tuple[str, dict[str, Any]]]


def run_shell(
    run_node: RunNode, params: dict[str, object], shared: dict[str, object] | None = None
) -> tuple[str, dict[str, object]]:
    return run_node(ShellNode, SHELL, params, shared)


def test_success_captures_stdout_and_exit_code(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "echo hello; echo warn >&2"})
    assert action == "default"
    assert shared == {"stdout": "hello\n", "stderr": "warn\n", "exit_code": 0}


def test_nonzero_exit_reports_last_stderr_line(run_node: RunNode) -> None:
    command = "echo first >&2; echo 'the real reason' >&2; echo >&2; exit 3"
    action, shared = run_shell(run_node, {"command": command})
    assert action == "error"
    assert shared["exit_code"] == 3
    assert shared["error"] == "Command failed with exit code 3: the real reason"


def test_nonzero_exit_without_stderr(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "echo out; false"})
    assert action == "error"
    assert shared["error"] == "Command failed with exit code 1"
    assert shared["stdout"] == "out\n"


def test_ignore_errors_takes_default_without_error(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "exit 2", "ignore_errors": True})
    assert action == "default"
    assert shared["exit_code"] == 2
    assert "error" not in shared


def test_stdin_param_string(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "cat", "stdin": "line 1\nline 2"})
    assert action == "default"
    assert shared["stdout"] == "line 1\nline 2"


def test_stdin_param_object_is_json_without_ascii_escapes(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "cat", "stdin": {"name": "Zoë", "n": [1, 2]}})
    assert shared["stdout"] == '{"name": "Zoë", "n": [1, 2]}'


def test_stdin_param_number(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "cat", "stdin": 42})
    assert shared["stdout"] == "42"


def test_piped_stdin_from_store_is_the_fallback(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "cat"}, {"stdin": "piped data"})
    assert shared["stdout"] == "piped data"


def test_stdin_param_wins_over_piped_stdin(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "cat", "stdin": "param"}, {"stdin": "piped"})
    assert shared["stdout"] == "param"


def test_non_string_store_stdin_is_ignored(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "cat"}, {"stdin": {"not": "text"}})
    assert action == "default"
    assert shared["stdout"] == ""


def test_no_stdin_means_empty_input_not_inherited(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "cat; echo done", "timeout": 10})
    assert action == "default"
    assert shared["stdout"] == "done\n"


def test_large_stdin_to_command_that_ignores_it(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "echo hi", "stdin": "x" * 5_000_000})
    assert action == "default"
    assert shared["stdout"] == "hi\n"


def test_large_stdin_is_delivered_whole(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "wc -c", "stdin": "y" * 3_000_000})
    assert int(str(shared["stdout"]).strip()) == 3_000_000


def test_crlf_and_cr_become_lf(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": r"printf 'a\r\nb\rc'; printf 'e\r\n' >&2"})
    assert shared["stdout"] == "a\nb\nc"
    assert shared["stderr"] == "e\n"


def test_undecodable_output_is_replaced(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": r"printf 'ok\377'"})
    assert shared["stdout"] == "ok\ufffd"


def test_cwd_absolute(run_node: RunNode, tmp_path: Path) -> None:
    _, shared = run_shell(run_node, {"command": "pwd -P", "cwd": str(tmp_path)})
    assert shared["stdout"] == f"{tmp_path.resolve()}\n"


def test_cwd_relative_to_current_directory(
    run_node: RunNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    _, shared = run_shell(run_node, {"command": "pwd -P", "cwd": "sub"})
    assert shared["stdout"] == f"{(tmp_path / 'sub').resolve()}\n"


def test_cwd_expands_home(run_node: RunNode, home: Path) -> None:
    (home / "proj").mkdir()
    _, shared = run_shell(run_node, {"command": "pwd -P", "cwd": "~/proj"})
    assert shared["stdout"] == f"{(home / 'proj').resolve()}\n"


def test_missing_cwd_is_a_param_error(run_node: RunNode, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(NodeParamError) as info:
        run_shell(run_node, {"command": "pwd", "cwd": str(missing)})
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)
    assert info.value.hint
    assert info.value.node_id == "n1"


def test_cwd_that_is_a_file_is_a_param_error(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(NodeParamError, match="is not a directory"):
        run_shell(run_node, {"command": "pwd", "cwd": str(f)})


def test_env_values_are_stringified_and_merged(
    run_node: RunNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PFLOW_TEST_OUTER", "outer")
    env = {"S": "text", "B": True, "F": False, "I": 5, "R": 1.5, "O": {"a": [1, "é"]}}
    command = 'printf "%s|" "$S" "$B" "$F" "$I" "$R" "$O" "$PFLOW_TEST_OUTER"'
    action, shared = run_shell(run_node, {"command": command, "env": env})
    assert action == "default"
    assert shared["stdout"] == 'text|true|false|5|1.5|{"a": [1, "é"]}|outer|'


def test_env_value_helper() -> None:
    assert json_text(None) == ""
    assert json_text([1, 2]) == "[1, 2]"


def test_invalid_env_name_is_a_param_error(run_node: RunNode) -> None:
    with pytest.raises(NodeParamError, match="environment variable name"):
        run_shell(run_node, {"command": "true", "env": {"A=B": "x"}})


def test_timeout_kills_and_keeps_partial_output(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "echo partial; sleep 5", "timeout": 0.5})
    assert action == "error"
    assert shared["exit_code"] == -1
    assert shared["error"] == "Command timed out after 0.5 seconds"
    assert shared["stdout"] == "partial\n"


def test_timeout_kills_the_whole_process_group(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "sleep 30 & echo $!; wait", "timeout": 0.5})
    assert shared["exit_code"] == -1
    pid = int(str(shared["stdout"]).strip())
    assert _wait_until_gone(pid), f"background process {pid} survived the timeout"


def _wait_until_gone(pid: int) -> bool:
    """True once `pid` no longer runs (gone or a zombie awaiting its new parent)."""
    for _ in range(500):  # 5 s at most
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("timeout", [0, -1, float("inf")])
def test_non_positive_timeout_is_a_param_error(run_node: RunNode, timeout: float) -> None:
    with pytest.raises(NodeParamError, match="positive number"):
        run_shell(run_node, {"command": "true", "timeout": timeout})


def test_timeout_of_wrong_type_is_a_param_error(run_node: RunNode) -> None:
    with pytest.raises(NodeParamError, match="timeout"):
        run_shell(run_node, {"command": "true", "timeout": "5"})


def test_missing_command_is_a_param_error(run_node: RunNode) -> None:
    with pytest.raises(NodeParamError, match="command"):
        run_shell(run_node, {})


def test_failure_to_start_is_reported(run_node: RunNode) -> None:
    action, shared = run_shell(run_node, {"command": "echo \0 nul"})
    assert action == "error"
    assert shared["exit_code"] == -2
    assert str(shared["error"]).startswith("Failed to execute command: ")


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf /",
        "rm -rf /*",
        "rm -fr / --no-preserve-root",
        "sudo rm -r -f /",
        "echo bye; rm -rf /",
        "mkfs.ext4 /dev/sda1",
        ":(){ :|:& };:",
        "dd if=/dev/zero of=/dev/sda bs=1M",
        "cat image > /dev/sdb",
    ],
)
def test_dangerous_commands_are_refused(run_node: RunNode, tmp_path: Path, command: str) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(NodeExecutionError) as info:
        run_shell(run_node, {"command": f"touch {marker}; {command}"})
    assert "refusing to run" in str(info.value)
    assert info.value.node_id == "n1"
    assert info.value.hint
    assert not marker.exists()


@pytest.mark.parametrize(
    "command", ["rm -rf /tmp/x", "rm -rf ./build", "echo 'rm -rf /'", "ls /dev/sda"]
)
def test_similar_safe_commands_pass_the_guard(command: str) -> None:
    node = ShellNode(SHELL, "s1")
    node.set_params({"command": command})
    assert node.prep({})["command"] == command


def test_rm_rf_of_a_subdirectory_runs(run_node: RunNode, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    (victim / "inner").mkdir(parents=True)
    action, _ = run_shell(run_node, {"command": f"rm -rf {victim}"})
    assert action == "default"
    assert not victim.exists()


def test_run_parameters_in_the_store_do_not_override_params(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "echo mine"}, {"command": "echo theirs"})
    assert shared["stdout"] == "mine\n"


def test_outputs_are_written_even_on_timeout(run_node: RunNode) -> None:
    _, shared = run_shell(run_node, {"command": "sleep 5", "timeout": 0.3})
    assert {"stdout", "stderr", "exit_code", "error"} <= set(shared)


def test_environment_is_not_polluted(run_node: RunNode) -> None:
    run_shell(run_node, {"command": "true", "env": {"PFLOW_ONLY_CHILD": "1"}})
    assert "PFLOW_ONLY_CHILD" not in os.environ


def test_binary_env_value_is_a_located_param_error() -> None:
    node = ShellNode(SHELL, "s")
    node.set_params({"command": "true", "env": {"X": b"\xff"}})
    with pytest.raises(NodeParamError) as info:
        node.run({})
    assert "env value 'X': binary data cannot be used as text here" in info.value.message
    assert info.value.pointer == "params/env"
