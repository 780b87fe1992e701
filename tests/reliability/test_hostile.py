"""Signals, broken output and hostile names, as a user's shell would produce them.

Each test runs the real `pflow` in a throw-away HOME and PFLOW_HOME and checks what the user
would see and what is left behind: no traceback, the documented exit code, valid UTF-8 on
stdout, no process left running, no file left half-written or readable by others.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 60
PFLOW = Path(sys.executable).with_name("pflow")


def _command() -> list[str]:
    return [str(PFLOW)] if PFLOW.is_file() else [sys.executable, "-m", "pflow"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return tmp_path


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFLOW_", "PYTHON"))}
    env.update(HOME=str(home), PFLOW_HOME=str(home / ".pflow"), LC_ALL="C.UTF-8")
    return env


def _write_flow(home: Path, name: str, command: str, **extra: Any) -> Path:
    path = home / "work" / name
    ir = {"ir_version": "0.1.0", "nodes": [{"id": "s", "type": "shell", "params": {}}]}
    ir["nodes"][0]["params"]["command"] = command
    ir.update(extra)
    path.write_text(json.dumps(ir), encoding="utf-8")
    return path


def _run(home: Path, *args: str | bytes, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*_command(), *args],
        cwd=home / "work",
        env=_env(home),
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
        **kwargs,
    )


def _group_members(pgid: int) -> list[str]:
    """The command names of the processes of group `pgid` that still run (zombies, already
    dead, do not count).

    A killed grandchild is re-parented to whichever ancestor reaps orphans; until it does,
    it is a zombie that `killpg(pgid, 0)` would still find.
    """
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat_file.read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = tail.split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(head.partition("(")[2])
    return members


def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (zombies do not count)."""
    return bool(_group_members(pgid))


def _wait_until_group_gone(pgid: int, seconds: float = 5.0) -> bool:
    """Poll until no process of group `pgid` runs; False if one still does after `seconds`."""
    deadline = time.monotonic() + seconds
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _wait_for_pid_file(pid_file: Path, proc: subprocess.Popen[bytes]) -> int:
    """The pid the shell node wrote to `pid_file`, once it is there (pflow still running)."""
    deadline = time.monotonic() + TIMEOUT
    while not pid_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    return int(pid_file.read_text())


def _start_sleeper(home: Path, *options: str) -> tuple[subprocess.Popen[bytes], int]:
    """Run a shell node `sleep 60; echo done` (the shell stays: not exec'd) until it sleeps."""
    pid_file = home / "work" / "sh.pid"
    _write_flow(
        home,
        "slp.json",
        f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; sleep 60; echo done",
    )
    proc = subprocess.Popen(
        [*_command(), "run", "slp.json", *options],
        cwd=home / "work",
        env=_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pgid = _wait_for_pid_file(pid_file, proc)
    # Signalled only once the shell has started `sleep`: the group has a grandchild to kill.
    deadline = time.monotonic() + TIMEOUT
    while "sleep" not in _group_members(pgid):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    return proc, pgid


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
@pytest.mark.parametrize("mode", ["text", "json"])
def test_stop_signal_kills_the_command_group_and_reports(home, signum, code, mode):
    options = ("--trace",) + (("--output-format", "json") if mode == "json" else ())
    proc, pgid = _start_sleeper(home, *options)
    assert _group_alive(pgid)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    name = signal.Signals(signum).name
    assert proc.returncode == code
    assert b"Traceback" not in stderr
    assert _wait_until_group_gone(pgid), "the shell or its sleep was left running"
    if mode == "json":
        document = json.loads(stdout)
        assert document["error"] == {"type": "Interrupted", "message": f"Terminated by {name}"}
    else:
        assert stdout == b""
        assert stderr.endswith(f"Terminated by {name}.\n".encode())
    (trace,) = (home / ".pflow" / "debug").glob("workflow-trace-*.json")
    assert json.loads(trace.read_text())["final_status"] == "failed"


def test_timeout_command_leaves_no_orphan(home):
    """`timeout 2 pflow run slp.json`: the case the issue was reported with."""
    pid_file = home / "work" / "sh.pid"
    _write_flow(home, "slp.json", f"echo $$ > {pid_file}; sleep 30; echo done")
    done = subprocess.run(
        ["timeout", "2", *_command(), "run", "slp.json"],
        cwd=home / "work",
        env=_env(home),
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 124  # timeout's own code once its SIGTERM ended the command
    assert done.stderr == b"\nTerminated by SIGTERM.\n"
    assert _wait_until_group_gone(int(pid_file.read_text()))


def test_nohup_keeps_sighup_ignored(home):
    """A SIGHUP that the parent set to be ignored (nohup) does not stop the run."""
    pid_file, go = home / "work" / "sh.pid", home / "work" / "go"
    _write_flow(
        home,
        "slp.json",
        f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; "
        f"while [ ! -e {go} ]; do sleep 0.01; done; echo survived",
    )
    proc = subprocess.Popen(
        [*_command(), "run", "slp.json"],
        cwd=home / "work",
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    _wait_for_pid_file(pid_file, proc)  # the run is under way: its node is running
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)  # time for a handler, had pflow installed one, to stop the run
    go.touch()
    stdout, _ = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, stdout) == (0, b"survived\n")


@pytest.mark.parametrize("mode", ["text", "json"])
def test_full_disk_stdout_is_one_line_and_exit_1(home, mode):
    _write_flow(home, "hello.json", "echo hello")
    extra = ("--output-format", "json") if mode == "json" else ()
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [*_command(), "run", "hello.json", *extra],
            cwd=home / "work",
            env=_env(home),
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
        )
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "Error: could not write the output to standard output: No space left on device"
    ]


def test_closed_stdout_is_a_closed_pipe(home):
    _write_flow(home, "hello.json", "echo hello")
    done = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" >&-', "sh", *_command(), "run", "hello.json"],
        cwd=home / "work",
        env=_env(home),
        stderr=subprocess.PIPE,
        timeout=TIMEOUT,
    )
    assert (done.returncode, done.stderr) == (141, b"")


@pytest.mark.parametrize("mode", ["text", "json"])
def test_invalid_bytes_in_the_name_give_valid_utf8(home, mode):
    extra = ("--output-format", "json") if mode == "json" else ()
    done = _run(home, "run", b"\xff", *extra)
    assert done.returncode == 4
    done.stdout.decode("utf-8")  # raises if not valid UTF-8
    assert b"Traceback" not in done.stderr
    if mode == "json":
        assert json.loads(done.stdout)["error"]["type"] == "WorkflowNotFoundError"


def test_invalid_bytes_in_a_parameter_of_a_saved_workflow(home):
    _write_flow(home, "con.json", "printf '%s' ${k}", inputs={"k": {"type": "string"}})
    assert _run(home, "workflow", "save", "con.json", "con").returncode == 0
    done = _run(home, "run", "con", b"k=\xff")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("utf-8") == "\ufffd\n"  # the command's byte 0xff, replaced
    saved = json.loads((home / ".pflow" / "workflows" / "con.json").read_text("utf-8"))
    assert saved["rich_metadata"]["execution_count"] == 1
    assert saved["rich_metadata"]["last_execution_params"] == {"k": "\udcff"}


@pytest.mark.parametrize("length", [300, 5000])
def test_overlong_name_is_not_found(home, length):
    done = _run(home, "run", "a" * length)
    assert done.returncode == 4
    assert b"Traceback" not in done.stderr and b"probably a bug" not in done.stderr


def test_fifo_is_refused_before_reading(home):
    fifo = home / "work" / "f.json"
    os.mkfifo(fifo)
    done = _run(home, "run", "f.json")
    assert done.returncode == 3
    assert b"FIFO" in done.stderr


def test_traces_are_private_and_hold_no_secret(home):
    _write_flow(home, "t.json", "echo ${password} ${cfg.user}")
    debug = home / ".pflow" / "debug"
    debug.mkdir(parents=True)
    debug.chmod(0o755)  # left by an older pflow: narrowed on the next save
    cfg = json.dumps({"user": "ada", "auth": {"key": "k-998877"}})
    done = _run(home, "run", "t.json", "password=hunter22", f"cfg={cfg}", "--trace")
    assert done.returncode == 0, done.stderr
    (trace,) = debug.glob("workflow-trace-*.json")
    assert stat.S_IMODE(debug.stat().st_mode) == 0o700
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    text = trace.read_text("utf-8")
    assert "hunter22" not in text and "k-998877" not in text
    assert '"user": "ada"' in text
