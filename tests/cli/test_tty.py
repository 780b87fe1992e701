"""Interactive runs under a pseudo-terminal: progress lines on stderr, exact bytes.

stdin and stdout are the terminal (or a pipe, to check the non-interactive cases); stderr is
always a pipe so the progress bytes can be compared exactly.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from dataclasses import dataclass

import pytest

from .conftest import TIMEOUT, pflow_command

pytestmark = pytest.mark.tty

DURATION = re.compile(rb" \xe2\x9c\x93 \d+\.\ds\n")
OK = " ✓ <T>s\n"


@dataclass
class TtyResult:
    code: int
    tty: bytes  # what pflow wrote to the terminal (stdout when it is the terminal)
    stdout: bytes  # stdout when it is a pipe
    stderr: bytes

    @property
    def progress(self) -> str:
        """stderr with every duration replaced by <T>."""
        return DURATION.sub(" ✓ <T>s\n".encode(), self.stderr).decode()


def run_tty(args, cwd, *, stdin_tty=True, stdout_tty=True, stdin=b"", typed=b""):
    """Run pflow with stdin and/or stdout on a new pseudo-terminal; stderr on a pipe."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [*pflow_command(), *args],
        stdin=slave if stdin_tty else subprocess.PIPE,
        stdout=slave if stdout_tty else subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    os.close(slave)
    if not stdin_tty:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    if typed:
        os.write(master, typed)
    assert proc.stderr is not None
    err_fd = proc.stderr.fileno()
    out_fd = proc.stdout.fileno() if proc.stdout is not None else None
    buffers: dict[int | None, bytearray] = {master: bytearray(), err_fd: bytearray()}
    if out_fd is not None:
        buffers[out_fd] = bytearray()
    open_fds = {fd for fd in buffers if fd is not None}
    deadline = time.monotonic() + TIMEOUT
    try:
        while open_fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                proc.kill()
                pytest.fail(f"pflow did not finish under a terminal: {dict(buffers)!r}")
            ready, _, _ = select.select(list(open_fds), [], [], remaining)
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal has no other end any more
                    chunk = b""
                if chunk:
                    buffers[fd] += chunk
                else:
                    open_fds.discard(fd)
        code = proc.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
        proc.stderr.close()
        if proc.stdout is not None:
            proc.stdout.close()
    return TtyResult(
        code, bytes(buffers[master]), bytes(buffers.get(out_fd, b"")), bytes(buffers[err_fd])
    )


@pytest.fixture
def two_nodes(flows):
    return flows.write(
        "flow.json",
        flows.ir(flows.shell_node("first", "echo one"), flows.shell_node("second", "echo two")),
    )


def test_progress_lines_for_a_successful_run(two_nodes, sandbox):
    result = run_tty(["run", "flow.json"], sandbox.workdir)
    assert result.code == 0
    assert result.tty == b"two\r\n"
    assert result.progress == f"Executing workflow (2 nodes):\n  first...{OK}  second...{OK}"
    assert len(DURATION.findall(result.stderr)) == 2


def test_progress_exact_bytes(two_nodes, sandbox):
    result = run_tty(["flow.json"], sandbox.workdir)
    normalised = DURATION.sub(b" \xe2\x9c\x93 0.0s\n", result.stderr)
    assert normalised == (
        b"Executing workflow (2 nodes):\n"
        b"  first... \xe2\x9c\x93 0.0s\n"
        b"  second... \xe2\x9c\x93 0.0s\n"
    )


def test_one_node(flows, sandbox):
    flows.shell("echo solo", node_id="only")
    result = run_tty(["run", "flow.json"], sandbox.workdir)
    assert result.code == 0
    assert result.tty == b"solo\r\n"
    assert result.progress == f"Executing workflow (1 node):\n  only...{OK}"


def test_failed_node_gets_a_cross_and_the_reason(flows, sandbox):
    flows.write(
        "flow.json",
        flows.ir(
            flows.shell_node("first", "echo one"),
            flows.shell_node("boom", "echo broken >&2; exit 4"),
            flows.shell_node("never", "echo never"),
        ),
    )
    result = run_tty(["run", "flow.json"], sandbox.workdir)
    assert result.code == 1
    assert result.tty == b""
    assert result.progress == (
        "Executing workflow (3 nodes):\n"
        f"  first...{OK}"
        "  boom... ✗ Command failed with exit code 4: broken\n"
        "Error: Node 'boom' (shell) failed: Command failed with exit code 4: broken\n"
        "  Node: boom (shell)\n"
        'Hint: Add an edge from \'boom\' with "action": "error" to handle this failure\n'
    )


def test_node_exception_reason_is_cut_to_one_short_line(flows, sandbox):
    flows.shell("echo hi", node_id="cd", params={"cwd": "/nonexistent/some/long/directory"})
    result = run_tty(["run", "flow.json"], sandbox.workdir)
    assert result.code == 1
    lines = result.progress.splitlines()
    assert lines[0] == "Executing workflow (1 node):"
    reason = "Node 'cd' (shell): working directory '/nonexistent/some/long/direct..."
    assert len(reason) == 70
    assert lines[1] == f"  cd... ✗ {reason}"
    assert lines[2].startswith("Error: Node 'cd' (shell): working directory")
    assert "Traceback" not in result.progress


@pytest.mark.parametrize("options", [["-p"], ["--print"]], ids=["-p", "--print"])
def test_print_flag_disables_progress(two_nodes, sandbox, options):
    result = run_tty(["run", "flow.json", *options], sandbox.workdir)
    assert (result.code, result.tty, result.stderr) == (0, b"two\r\n", b"")


def test_json_output_disables_progress(two_nodes, sandbox):
    result = run_tty(["run", "flow.json", "--output-format", "json"], sandbox.workdir)
    assert result.code == 0
    assert result.stderr == b""
    assert result.tty.startswith(b'{\r\n  "success": true,\r\n')


def test_piped_stdin_disables_progress(two_nodes, sandbox):
    result = run_tty(["run", "flow.json"], sandbox.workdir, stdin_tty=False, stdin=b"")
    assert (result.code, result.tty, result.stderr) == (0, b"two\r\n", b"")


def test_piped_stdout_disables_progress(two_nodes, sandbox):
    result = run_tty(["run", "flow.json"], sandbox.workdir, stdout_tty=False)
    assert (result.code, result.stdout, result.stderr, result.tty) == (0, b"two\n", b"", b"")


def test_stdin_is_not_read_when_it_is_a_terminal(test_nodes, flows, sandbox):
    flows.write("flow.json", flows.ir(flows.echo_node("e", message="${stdin}")))
    result = run_tty(["run", "flow.json", "-p"], sandbox.workdir)
    assert result.code == 1
    assert result.tty == b""
    assert result.stderr.decode().startswith(
        "Error: Template ${stdin} in node 'e' (param 'message') has no value when the node runs\n"
    )


def test_shell_node_does_not_wait_for_a_terminal_stdin(flows, sandbox):
    flows.shell("cat")  # would block forever if it were handed the terminal
    result = run_tty(["run", "flow.json", "-p"], sandbox.workdir)
    assert (result.code, result.tty, result.stderr) == (
        0,
        b"Workflow executed successfully\r\n",
        b"",
    )


def test_delete_asks_for_confirmation_on_a_terminal(flows, run_pflow, sandbox):
    flows.shell("echo x")
    assert run_pflow(["workflow", "save", "flow.json", "doomed"]).code == 0
    result = run_tty(["workflow", "delete", "doomed"], sandbox.workdir, typed=b"y\n")
    assert result.code == 0
    assert result.stderr == b"Delete saved workflow 'doomed'? [y/N]: Deleted workflow 'doomed'\n"
    assert not (sandbox.workflows_dir / "doomed.json").exists()


def test_delete_answer_no_keeps_the_workflow(flows, run_pflow, sandbox):
    flows.shell("echo x")
    assert run_pflow(["workflow", "save", "flow.json", "kept"]).code == 0
    result = run_tty(["workflow", "delete", "kept"], sandbox.workdir, typed=b"n\n")
    assert result.code == 1
    assert result.stderr == b"Delete saved workflow 'kept'? [y/N]: Kept workflow 'kept'\n"
    assert (sandbox.workflows_dir / "kept.json").exists()
