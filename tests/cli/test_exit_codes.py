"""One test per row of the documented exit-code table, run through the installed console script.

0    success
1    the workflow ran and failed
2    usage error (bad option or argument)
3    invalid workflow or parameters
4    workflow file or saved name not found
130  interrupted (Ctrl-C)
141  output pipe closed early
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from pflow.cli.exit_codes import ExitCode

from .conftest import TIMEOUT, pflow_command, sleep_is_gone


def test_exit_codes_are_the_documented_table():
    assert {c.name: int(c) for c in ExitCode} == {
        "SUCCESS": 0,
        "WORKFLOW_FAILED": 1,
        "USAGE": 2,
        "INVALID_WORKFLOW": 3,
        "NOT_FOUND": 4,
        "INTERRUPTED": 130,
        "BROKEN_PIPE": 141,
    }


def test_exit_0_success(flows, run_pflow):
    flows.shell("echo ok")
    result = run_pflow(["run", "flow.json"])
    assert (result.code, result.stdout, result.stderr) == (0, b"ok\n", b"")


def test_exit_1_workflow_failed(flows, run_pflow):
    flows.shell("exit 7", node_id="bad")
    result = run_pflow(["run", "flow.json"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith(
        "Error: Node 'bad' (shell) failed: Command failed with exit code 7"
    )


def test_exit_1_workflow_failed_by_a_node_exception(flows, run_pflow):
    flows.shell("echo hi", params={"cwd": "/nonexistent/dir"})
    result = run_pflow(["run", "flow.json"])
    assert result.code == 1
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "flow.json", "--bogus"], "Error: No such option '--bogus'"),
        (["run", "flow.json", "--output-format", "xml"], "'xml' is not one of 'text', 'json'"),
        (["run", "flow.json", "-o"], "Error: Option '-o' requires an argument."),
        (["run", "flow.json", "not-a-pair"], "expected KEY=VALUE, got 'not-a-pair'"),
        (["run"], "Usage: pflow run [OPTIONS] WORKFLOW [KEY=VALUE]..."),
        (["workflow", "nope"], "Error: No such command 'nope'."),
    ],
    ids=["unknown-option", "bad-choice", "no-value", "param-word", "no-workflow", "bad-sub"],
)
def test_exit_2_usage_error(flows, run_pflow, sandbox, args, message):
    flows.shell("touch ran")
    result = run_pflow(args)
    assert result.code == 2
    assert result.stdout == b""
    assert message in result.err
    assert "Traceback" not in result.err
    assert not (sandbox.workdir / "ran").exists()


def test_exit_3_invalid_workflow(flows, run_pflow):
    flows.write("flow.json", {"ir_version": "0.1.0", "nodes": [{"id": "a"}]})
    result = run_pflow(["run", "flow.json"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith("Error: Invalid workflow at /nodes/0: 'type' is required\n")


def test_exit_3_invalid_parameters(flows, run_pflow, sandbox):
    flows.shell("touch ran; echo ${n}", inputs={"n": {"type": "number"}})
    result = run_pflow(["run", "flow.json", "n=ten"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith("Error: Parameter 'n' has the wrong type: expected a number")
    assert not (sandbox.workdir / "ran").exists()


def test_exit_4_workflow_file_not_found(run_pflow, sandbox):
    result = run_pflow(["run", "missing.json"])
    assert result.code == 4
    assert result.stdout == b""
    assert result.err == (
        "Error: Workflow file 'missing.json' not found\n"
        f"  At: {sandbox.workdir / 'missing.json'}\n"
        "Hint: Check the path, or run 'pflow workflow list' to see saved workflows\n"
    )


def test_exit_4_saved_name_not_found(run_pflow):
    result = run_pflow(["run", "no-such-flow"])
    assert result.code == 4
    assert result.stdout == b""
    assert result.err == (
        "Error: Workflow 'no-such-flow' not found\n"
        "Hint: Run 'pflow workflow list' to see saved workflows\n"
    )


def test_exit_130_ctrl_c(sleeping_workflow):
    proc, child_pid = sleeping_workflow()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130
    assert stdout == b""
    assert b"Interrupted." in stderr
    assert b"Traceback" not in stderr
    assert sleep_is_gone(child_pid)


def test_exit_141_stdout_closed_early(flows, sandbox):
    flows.shell("echo hello")
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails with EPIPE
    try:
        proc = subprocess.run(
            [*pflow_command(), "run", "flow.json"],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=sandbox.workdir,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == b""
