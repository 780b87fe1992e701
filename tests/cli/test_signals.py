"""Ctrl-C (SIGINT) during a run, and a reader that closes stdout early."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from .conftest import TIMEOUT, pflow_command, sleep_is_gone


def test_sigint_exits_130_and_kills_the_running_command(sleeping_workflow):
    proc, child_pid = sleeping_workflow()
    assert not sleep_is_gone(child_pid)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130
    assert stdout == b""
    assert stderr.endswith(b"Interrupted.\n"), stderr
    assert b"Traceback" not in stderr
    assert sleep_is_gone(child_pid)


def test_sigint_in_json_mode_still_prints_one_document(sleeping_workflow):
    proc, child_pid = sleeping_workflow("--output-format", "json")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130
    assert b"Traceback" not in stderr
    assert sleep_is_gone(child_pid)
    doc = json.loads(stdout)
    assert doc["success"] is False
    assert doc["error"]["type"] == "Interrupted"
    assert doc["error"]["message"] == "Interrupted by the user (Ctrl-C)"
    assert doc["workflow"] == {"action": "unsaved", "name": "flow.json"}


@pytest.mark.parametrize("unbuffered", [None, "1"], ids=["buffered", "PYTHONUNBUFFERED"])
def test_reader_closing_early_ends_quietly(flows, sandbox, unbuffered):
    """`pflow run x.json | head -1`: the first line arrives, then pflow exits 141, silently."""
    flows.shell("seq 1 300000")  # about 2 MB: far more than a pipe holds
    env = dict(os.environ)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    proc = subprocess.Popen(
        [*pflow_command(), "run", "flow.json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=sandbox.workdir,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=TIMEOUT)
    assert first == b"1\n"
    assert stderr == b""
    assert proc.returncode == 141


def test_shell_pipeline_into_head(flows, sandbox):
    flows.shell("seq 1 300000")
    command = " ".join(pflow_command()) + " run flow.json | head -1"
    proc = subprocess.run(
        ["/bin/sh", "-c", command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=sandbox.workdir,
        timeout=TIMEOUT,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"1\n", b"")
