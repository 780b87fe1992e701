"""How the shell node starts a command: signal mask, session, stop signals during the start.

The command starts on CPython's fast spawn path (no preexec_fn), in a new session, with the
stop signals (SIGINT, SIGTERM, SIGHUP) unblocked; a stop signal that arrives while it starts
is delivered once the command is known, so the command is killed rather than orphaned.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from pflow.nodes import shell
from pflow.nodes.shell import CommandResult, run_command

STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)
BASH = shutil.which("bash")
main_thread_only = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers can only be set in the main thread",
)


class Stopped(Exception):
    """What the test's SIGTERM handler raises, as the CLI's raises Terminated."""


def run(command: str, timeout: float = 10.0, **kwargs: Any) -> CommandResult:
    return run_command(command, stdin=None, cwd=None, env=None, timeout=timeout, **kwargs)


def blocked_bits(status: str) -> int:
    """The SigBlk mask of a /proc/<pid>/status text."""
    (line,) = [x for x in status.splitlines() if x.startswith("SigBlk:")]
    return int(line.split()[1], 16)


def stop_bits(mask: int) -> list[str]:
    return [s.name for s in STOP_SIGNALS if mask & (1 << (s - 1))]


def gone(pid: int, seconds: float = 5.0) -> bool:
    """True once `pid` no longer runs (gone, or a zombie awaiting its new parent)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def stop_handlers() -> Iterator[None]:
    """Python-level handlers for the stop signals, as `pflow run` has; restored afterwards."""

    def terminated(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signum)

    saved = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGHUP, terminated)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@pytest.fixture
def blocked_stop_signals() -> Iterator[None]:
    """The calling thread blocks the stop signals (as a parent process may pass on)."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@pytest.mark.parametrize("shell_path", ["/bin/sh", BASH], ids=["sh", "bash"])
def test_command_starts_with_the_stop_signals_unblocked(
    monkeypatch: pytest.MonkeyPatch, shell_path: str | None
) -> None:
    # `cat` reports the mask it was started with, which the shell passed on. bash passes on
    # the mask it inherited (dash clears it first), so with bash a blocked mask would show.
    # The shell's own /proc/$$/status is no probe: a shell waiting for a child blocks signals.
    if shell_path is None:
        pytest.skip("bash is not installed")
    monkeypatch.setattr(shell, "SHELL", shell_path)
    result = run("cat /proc/self/status")
    assert result.exit_code == 0, result
    assert stop_bits(blocked_bits(result.stdout)) == []


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.usefixtures("blocked_stop_signals")
def test_stop_signals_blocked_by_the_caller_are_unblocked_in_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shell, "SHELL", BASH)
    result = run("cat /proc/self/status")
    assert stop_bits(blocked_bits(result.stdout)) == []
    # The caller's own mask is left as it was.
    assert set(STOP_SIGNALS) <= signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_command_leads_its_own_session_and_process_group() -> None:
    result = run("echo $$; cat /proc/$$/stat")
    pid_line, stat = result.stdout.splitlines()
    pid = int(pid_line)
    fields = stat.rsplit(")", 1)[1].split()
    pgrp, session, tty = int(fields[2]), int(fields[3]), int(fields[4])
    assert (pgrp, session) == (pid, pid)
    assert tty == 0, "the command has a controlling terminal"
    assert session != os.getsid(0)


def test_command_run_from_another_thread() -> None:
    results: list[CommandResult] = []
    handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    worker = threading.Thread(target=lambda: results.append(run("cat /proc/self/status")))
    worker.start()
    worker.join()
    (result,) = results
    assert result.exit_code == 0
    assert stop_bits(blocked_bits(result.stdout)) == []
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == handlers


@main_thread_only
@pytest.mark.usefixtures("stop_handlers")
def test_handlers_are_back_after_a_run_and_after_a_failed_start() -> None:
    handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    assert run("true").exit_code == 0
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == handlers
    failed = run("echo \0")
    assert failed.start_error == "embedded null byte"
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == handlers
    assert not set(STOP_SIGNALS) & signal.pthread_sigmask(signal.SIG_BLOCK, [])


@main_thread_only
@pytest.mark.usefixtures("stop_handlers")
@pytest.mark.parametrize(
    ("signum", "expected"),
    [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Stopped), (signal.SIGHUP, Stopped)],
)
def test_stop_signal_during_the_start_is_raised_and_the_command_killed(
    monkeypatch: pytest.MonkeyPatch, signum: int, expected: type[BaseException]
) -> None:
    """The signal lands inside Popen, after the fork: it is raised once the child is known."""
    started: list[int] = []

    class SignalledProcess(shell._Process):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self.pid)
            signal.raise_signal(signum)  # the handler in place now must not raise here

    monkeypatch.setattr(shell, "_Process", SignalledProcess)
    with pytest.raises(expected):
        run("sleep 30", timeout=3)
    (pid,) = started
    assert gone(pid), f"the command {pid} outlived the interrupted start"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@main_thread_only
@pytest.mark.usefixtures("stop_handlers")
def test_signals_during_the_start_arrive_in_signal_order(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, note)

    class SignalledProcess(shell._Process):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGTERM):
                signal.raise_signal(signum)

    monkeypatch.setattr(shell, "_Process", SignalledProcess)
    result = run("echo ran")
    assert result.stdout == "ran\n"
    assert seen == [signal.SIGINT, signal.SIGTERM]  # once each, as pending signals merge


def test_timeout_after_the_command_closed_its_pipes_kills_the_group(tmp_path: Path) -> None:
    """Output ends at once; the wait for the exit is what times out."""
    pid_file = tmp_path / "bg.pid"
    command = f"exec >/dev/null 2>&1; sleep 30 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    result = run(command, timeout=0.5)
    assert result.timed_out
    assert result.exit_code == shell.TIMEOUT_EXIT_CODE
    assert time.monotonic() - started < 20
    assert gone(int(pid_file.read_text()))


def test_without_pidfd_the_wait_still_times_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_pidfd(pid: int, flags: int = 0) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd, raising=False)
    assert run("echo hi").stdout == "hi\n"
    pid_file = tmp_path / "bg.pid"
    result = run(f"exec >/dev/null 2>&1; sleep 30 & echo $! > {pid_file}; wait", timeout=0.5)
    assert result.timed_out
    assert gone(int(pid_file.read_text()))


def test_exit_code_of_a_command_that_outlives_its_pipes() -> None:
    result = run("exec >/dev/null 2>&1; sleep 0.3; exit 7", timeout=10)
    assert (result.exit_code, result.timed_out, result.stdout) == (7, False, "")
