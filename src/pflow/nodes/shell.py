"""Shell node: run a command with /bin/sh and capture its output and exit code."""

from __future__ import annotations

import json
import logging
import os
import re
import select
import signal
import subprocess
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from pflow.foundation.exceptions import NodeExecutionError
from pflow.nodes.base import PflowNode, json_text

logger = logging.getLogger(__name__)

# Exit codes of the failures that are not the command's own.
TIMEOUT_EXIT_CODE = -1
START_FAILURE_EXIT_CODE = -2

# The shell that runs commands.
SHELL = "/bin/sh"

# Signals that stop pflow (and so the command): held back while the command is being started.
_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

# Seconds to wait for the pipes to drain once a timed-out process group was killed.
_DRAIN_SECONDS = 5.0

# Commands pflow refuses to run, whatever the workflow says: (pattern, what it would do).
_SEP = r"(?:^|[\s;&|()`])"
_END = r"(?=$|[\s;&|)`])"
_DANGEROUS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(_SEP + r"rm\s+(?:-\S+\s+)+/\*?" + _END), "delete the root filesystem"),
    (re.compile(r"\bmkfs\."), "format a filesystem"),
    (re.compile(r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:"), "start a fork bomb"),
    (re.compile(r"\bdd\b[^;&|\n]*\bof=/dev/sd"), "overwrite a disk device"),
    (re.compile(r">\s*/dev/sd"), "overwrite a disk device"),
)


@dataclass(frozen=True)
class CommandResult:
    """What running a command produced."""

    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    start_error: str | None = None


def run_command(
    command: str,
    *,
    stdin: str | bytes | None,
    cwd: str | None,
    env: dict[str, str] | None,
    timeout: float,
) -> CommandResult:
    """Run `command` with `/bin/sh -c` in its own session; kill its process group on timeout.

    Pipes are binary so piped bytes reach the command unchanged; output is decoded as UTF-8
    (invalid bytes replaced) with CRLF and CR turned into LF. If pflow is interrupted while
    the command runs, the command's process group is killed before the interrupt propagates;
    a stop signal that arrives while the command starts is delivered once it has started.
    """
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    held = _hold_stop_signals()
    try:
        proc = _Process(
            [SHELL, "-c", command],
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
            # Only when the caller blocks a stop signal: the child must start without the
            # block, and a preexec_fn (CPython's slow fork path) is the only way to lift it.
            preexec_fn=_unblock_stop_signals if held.mask & _STOP_SIGNALS else None,
        )
    except (OSError, ValueError) as exc:
        _release(held)
        return CommandResult("", "", START_FAILURE_EXIT_CODE, start_error=str(exc))
    except BaseException:
        _release(held)
        raise
    try:
        _release(held)  # a stop signal noted during the start is raised here
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.debug("command timed out after %s s, killing process group %d", timeout, proc.pid)
        _kill_group(proc)
        stdout, stderr = _drain(proc)
        return CommandResult(stdout, stderr, TIMEOUT_EXIT_CODE, timed_out=True)
    except BaseException:  # Ctrl-C or any other abort: leave no orphaned command behind
        _kill_group(proc)
        proc.wait()
        raise
    return CommandResult(_text(out), _text(err), proc.returncode)


class _Process(subprocess.Popen[bytes]):
    """A Popen whose wait with a timeout sleeps until the child exits.

    `communicate(timeout=...)` ends with such a wait, and Popen's own polls the child with
    sleeps of 0.5 ms and more: after a short command closed its pipes, that alone often costs
    a millisecond. Where Linux offers a pidfd, poll(2) on it wakes when the child exits.
    """

    def wait(self, timeout: float | None = None) -> int:
        if timeout is not None and self.returncode is None:
            exited = _wait_for_exit(self.pid, timeout)
            if exited is False:
                raise subprocess.TimeoutExpired(self.args, timeout)
            if exited:
                return super().wait()  # reaps the child at once
        return super().wait(timeout)


def _wait_for_exit(pid: int, timeout: float) -> bool | None:
    """Whether child `pid` exits within `timeout` seconds; None when there is no pidfd."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, a kernel before 5.3, or a sandbox
        return None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(max(0.0, timeout) * 1000))
    finally:
        os.close(fd)


@dataclass
class _Held:
    """The state `_hold_stop_signals` changed, for `_release` to undo."""

    mask: set[int]  # the thread's signal mask before the hold
    handlers: list[tuple[int, Any]] = field(default_factory=list)  # (signal, pflow's handler)
    caught: list[int] = field(default_factory=list)  # stop signals that arrived meanwhile

    def note(self, signum: int, frame: FrameType | None) -> None:
        self.caught.append(signum)


def _hold_stop_signals() -> _Held:
    """Hold back the Python-level handlers of the stop signals while a command starts.

    Those handlers (Ctrl-C's KeyboardInterrupt, the CLI's SIGTERM and SIGHUP one) raise
    wherever the main thread is; raised inside `subprocess.Popen` after the fork, the exception
    would lose the only reference to the child, which would then outlive pflow. Until
    `_release`, a handler that only notes the signal stands in for each of them. Blocking the
    signals instead would leave the child with the blocked mask (it inherits the mask of the
    thread that starts it) unless a `preexec_fn` lifted it, and any `preexec_fn` forces
    CPython's slow fork path. The signals stay unblocked, so the child starts unblocked.
    """
    # Blocked while the handlers are swapped, so that none arrives half-way.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    held = _Held(mask)
    try:
        if threading.current_thread() is threading.main_thread():  # elsewhere none would run
            for signum in sorted(_STOP_SIGNALS):
                handler = signal.getsignal(signum)
                if callable(handler):  # SIG_DFL, SIG_IGN and C-level handlers never raise
                    signal.signal(signum, held.note)
                    held.handlers.append((signum, handler))
    except BaseException:
        _release(held)
        raise
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return held


def _release(held: _Held) -> None:
    """Put pflow's stop-signal handlers back, then deliver the stop signals noted meanwhile.

    The noted signals are raised again while blocked and delivered together when the mask is
    restored, so their handlers run (and raise) here, in the caller, as if they had arrived now.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        _set_handlers(held.handlers)
        for signum in sorted(set(held.caught)):
            signal.raise_signal(signum)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held.mask)


def _set_handlers(handlers: list[tuple[int, Any]]) -> None:
    """Install every handler, even if the Python handler of some other signal raises.

    `signal.signal` first runs the handlers of signals that already arrived; when one raises
    (a timer's SIGALRM, say) the call changes nothing, so it is tried again. The first such
    exception is raised once every handler is in place.
    """
    error: BaseException | None = None
    for signum, handler in handlers:
        for _ in range(signal.NSIG):  # each failed try ran one pending handler
            try:
                signal.signal(signum, handler)
                break
            except BaseException as exc:
                error = error or exc
    if error is not None:
        raise error


def _unblock_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _drain(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Output produced before the kill; gives up if a runaway grandchild keeps the pipes open."""
    try:
        out, err = proc.communicate(timeout=_DRAIN_SECONDS)
        return _text(out), _text(err)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.wait()
        return _text(exc.stdout), _text(exc.stderr)


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        text = data.decode("utf-8", errors="replace")
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return data


class ShellNode(PflowNode):
    """Run `command` with /bin/sh; non-zero exit codes take the error action."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        command: str = self.param("command")
        self._refuse_dangerous(command)
        return {
            "command": command,
            "stdin": self._stdin(shared),
            "cwd": self._cwd(),
            "env": self._env(),
            "timeout": self.seconds_param(),
            "ignore_errors": self.param("ignore_errors"),
        }

    def exec(self, prep_res: dict[str, Any]) -> CommandResult:
        return run_command(
            prep_res["command"],
            stdin=prep_res["stdin"],
            cwd=prep_res["cwd"],
            env=prep_res["env"],
            timeout=prep_res["timeout"],
        )

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: CommandResult
    ) -> str:
        self.write(
            shared, stdout=exec_res.stdout, stderr=exec_res.stderr, exit_code=exec_res.exit_code
        )
        if exec_res.start_error is not None:
            self.write(shared, error=f"Failed to execute command: {exec_res.start_error}")
            return "error"
        if exec_res.timed_out:
            self.write(shared, error=f"Command timed out after {prep_res['timeout']:g} seconds")
            return "error"
        if exec_res.exit_code == 0 or prep_res["ignore_errors"]:
            return "default"
        error = f"Command failed with exit code {exec_res.exit_code}"
        last_line = _last_line(exec_res.stderr)
        if last_line:
            error += f": {last_line}"
        self.write(shared, error=error)
        return "error"

    def _refuse_dangerous(self, command: str) -> None:
        for pattern, effect in _DANGEROUS:
            if pattern.search(command):
                raise NodeExecutionError(
                    f"Node '{self.node_id}' (shell): refusing to run a command that would "
                    f"{effect}: {command!r}",
                    hint="pflow blocks a few destructive commands; rewrite the command "
                    "so that it targets only the paths it needs",
                    node_id=self.node_id,
                    node_type=self.spec.name,
                    pointer="params/command",
                )

    def _stdin(self, shared: MutableMapping[str, Any]) -> str | bytes | None:
        value = self.param("stdin")
        if value is not None:
            if isinstance(value, str | bytes):
                return value
            return json.dumps(value, ensure_ascii=False)
        piped = shared.get("stdin")  # data piped into pflow, as in pflow 0.0.1
        return piped if isinstance(piped, str | bytes) else None

    def _cwd(self) -> str | None:
        raw: str | None = self.param("cwd")
        if raw is None:
            return None
        path = os.path.abspath(os.path.expanduser(raw))
        if not os.path.isdir(path):
            problem = "does not exist" if not os.path.exists(path) else "is not a directory"
            raise self.fail(
                f"working directory '{path}' {problem}",
                hint="Set 'cwd' to an existing directory, or create it in an earlier step",
                param="cwd",
            )
        return path

    def _env(self) -> dict[str, str] | None:
        extra: dict[str, Any] | None = self.param("env")
        if not extra:
            return None
        for name in extra:
            if not name or "=" in name or "\0" in name:
                raise self.fail(
                    f"invalid environment variable name {name!r}",
                    hint="Names must be non-empty and contain neither '=' nor NUL",
                    param="env",
                )
        values: dict[str, str] = {}
        for name, value in extra.items():
            try:
                values[name] = json_text(value)
            except ValueError as exc:
                raise self.fail(
                    f"env value {name!r}: {exc}",
                    hint="Pass binary data through the node's stdin param instead",
                    param="env",
                ) from None
        return {**os.environ, **values}


def _last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""
