"""SIGKILL at any moment of a run never leaves the saved workflow file invalid or truncated.

A worker process loads pflow once and, for each run the test asks for, forks a child that runs
the saved workflow once through WorkflowExecutorService (as `pflow <name>` does, history
included). The test kills that child with SIGKILL after a random delay (seeded, so a failure
can be replayed) between 0 and a bit more than a typical run takes, then checks the file.
Forking keeps 200 runs fast and puts every kill somewhere inside a real run, not inside
interpreter start-up.

Lines the test writes to the worker: `time` (run once, report the seconds it took), `run`
(fork a run, report its pid), `reap` (wait for that run, report its exit code, negative for a
signal), `stall` (fork a run whose history write stops inside the atomic write, after the temp
file is written and while the lock is held), `quit`.
"""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.schemas import document_errors

NAME = "hello"
IR: dict[str, Any] = {
    "ir_version": "0.1.0",
    "nodes": [{"id": "say", "type": "shell", "params": {"command": "echo hi"}}],
    "edges": [],
}
RUNS = 200
SEED = 20240611
CALIBRATION_RUNS = 3
DELAY_FACTOR = 1.5  # delays spread over [0, 1.5 x a typical run]
REPLY_TIMEOUT = 30.0
_DROPPED_ENV = ("PFLOW_DEBUG", "PFLOW_INCLUDE_TEST_NODES", "PYTHONWARNINGS", "PYTHONSTARTUP")

WORKER_SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import time

    from pflow.core.workflow_executor_service import WorkflowExecutorService
    from pflow.core.workflow_manager import WorkflowManager

    name = sys.argv[1]
    manager = WorkflowManager()
    ir = manager.load_ir(name)
    service = WorkflowExecutorService(workflow_manager=manager)

    def run_once():
        result = service.execute_workflow(ir, {}, workflow_name=name)
        if result.success and result.metadata_error is None:
            return 0
        os.write(2, f"run failed: {result.metadata_error!r} {result.errors!r}\\n".encode())
        return 1

    def child(stall):
        try:
            if stall:
                real_fsync = os.fsync

                def fsync_then_hang(fd):
                    real_fsync(fd)
                    time.sleep(3600)  # the test kills us here: temp file written, lock held

                os.fsync = fsync_then_hang
            code = run_once()
        except BaseException as exc:
            os.write(2, f"run raised: {exc!r}\\n".encode())
            code = 2
        os._exit(code)

    def fork(stall=False):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            child(stall)
        return pid

    # A first run in this process warms every cache and lazy import, so that a forked run
    # spends its time running, not importing. It is recorded like any other run.
    if run_once() != 0:
        sys.exit(1)
    print("ready", flush=True)
    pid = None
    for line in sys.stdin:
        command = line.strip()
        if command == "time":
            started = time.perf_counter()
            _, status = os.waitpid(fork(), 0)
            elapsed = time.perf_counter() - started
            print(f"{os.waitstatus_to_exitcode(status)} {elapsed:.6f}", flush=True)
        elif command in ("run", "stall"):
            pid = fork(stall=command == "stall")
            print(pid, flush=True)
        elif command == "reap":
            # Until this wait, a finished child stays a zombie: its pid cannot be reused, so
            # the test's kill can only ever reach the run it meant.
            _, status = os.waitpid(pid, 0)
            print(os.waitstatus_to_exitcode(status), flush=True)
        elif command == "quit":
            break
    """
)


class Worker:
    """The forking worker process and its line protocol (every reply bounded by a timeout)."""

    def __init__(self, script: Path, env: dict[str, str], cwd: Path, stderr: Path) -> None:
        self.stderr_path = stderr
        with stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(script), NAME],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=cwd,
            )
        assert self.proc.stdout is not None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        self._buffer = b""

    def readline(self) -> str:
        deadline = time.monotonic() + REPLY_TIMEOUT
        assert self.proc.stdout is not None
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(timeout=left):
                pytest.fail(f"no reply from the worker in {REPLY_TIMEOUT}s{self.stderr_text()}")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                pytest.fail(f"the worker exited (code {self.proc.poll()}){self.stderr_text()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        self.proc.stdin.flush()
        return self.readline()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=REPLY_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=REPLY_TIMEOUT)
        self._selector.close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    def stderr_text(self) -> str:
        text = self.stderr_path.read_text(errors="replace")
        return f"; worker stderr:\n{text}" if text else ""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Worker, Path]]:
    """A saved workflow under a fresh PFLOW_HOME and a ready worker for it."""
    pflow_home = tmp_path / "pflow-home"
    path = WorkflowManager(pflow_home / "workflows").save(NAME, IR, description="Says hi")
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update({"PFLOW_HOME": str(pflow_home), "HOME": str(home)})
    worker = Worker(script, env, tmp_path, tmp_path / "worker.stderr")
    try:
        assert worker.readline() == "ready"
        yield worker, path
    finally:
        worker.close()


def _temp_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.glob(f".{path.name}.*.tmp"))


def _checked_count(path: Path) -> int:
    """The file must be complete, valid JSON in pflow's layout and pass the schema."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    # A truncated object cannot parse; this also catches a lost trailing newline.
    assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert document_errors("saved-workflow.schema.json", data) == []
    assert data["ir"] == IR
    count = data["rich_metadata"]["execution_count"]
    assert isinstance(count, int)
    return count


def test_sigkill_at_random_moments_never_breaks_the_saved_file(
    setup: tuple[Worker, Path],
) -> None:
    worker, path = setup
    assert _checked_count(path) == 1  # the worker's warm-up run

    timings = []
    for _ in range(CALIBRATION_RUNS):
        code, seconds = worker.ask("time").split()
        assert code == "0", worker.stderr_text()
        timings.append(float(seconds))
    typical = statistics.median(timings)
    count = _checked_count(path)
    assert count == 1 + CALIBRATION_RUNS

    rng = random.Random(SEED)
    outcomes = {"finished": 0, "killed": 0, "killed_after_recording": 0}
    stale_seen = 0
    for run in range(RUNS):
        delay = rng.uniform(0.0, DELAY_FACTOR * typical)
        pid = int(worker.ask("run"))
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)  # alive or an unreaped zombie: never another process
        code = int(worker.ask("reap"))
        assert code in (0, -signal.SIGKILL), f"run {run} ended with {code}{worker.stderr_text()}"

        previous, count = count, _checked_count(path)
        context = f"run {run} (delay {delay:.4f}s, exit {code}): count {previous} -> {count}"
        assert previous <= count <= previous + 1, context  # never lower, at most this run
        if code == 0:
            assert count == previous + 1, f"a run that finished was not recorded: {context}"
            outcomes["finished"] += 1
        else:
            outcomes["killed"] += 1
            outcomes["killed_after_recording"] += count - previous
        stale_seen += len(_temp_files(path))

    assert outcomes["finished"] + outcomes["killed"] == RUNS
    print(
        f"typical run {typical * 1000:.1f} ms; {outcomes}; "
        f"stale temp files seen after kills: {stale_seen}"
    )

    # A writer killed in the middle of the atomic write, deterministically: its temp file is
    # written and it holds the lock. Readers still see the previous, complete file.
    pid = int(worker.ask("stall"))
    deadline = time.monotonic() + REPLY_TIMEOUT
    while not _temp_files(path):
        assert time.monotonic() < deadline, "the stalled writer never wrote its temp file"
        time.sleep(0.005)
    assert _checked_count(path) == count
    os.kill(pid, signal.SIGKILL)
    assert int(worker.ask("reap")) == -signal.SIGKILL
    assert _checked_count(path) == count
    assert _temp_files(path), "the killed writer's temp file should still be there"

    # The next run takes the lock the killed writer held, removes the stale temp files and
    # records itself.
    code, _ = worker.ask("time").split()
    assert code == "0", worker.stderr_text()
    assert _checked_count(path) == count + 1
    assert _temp_files(path) == []
    lock_path = path.parent / f".{NAME}.json.lock"
    assert lock_path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == [lock_path.name, path.name]
    lock = FileLock(str(lock_path), timeout=REPLY_TIMEOUT)
    with lock:
        assert lock.is_locked


def test_update_metadata_removes_stale_temp_files(tmp_path: Path) -> None:
    """Temp files of killed writers go at the next update; other workflows' temp files stay."""
    manager = WorkflowManager(tmp_path / "workflows")
    path = manager.save(NAME, IR, description="Says hi")
    # Named as write_text_atomic names them: `.<file name>.<12 hex digits>.tmp`.
    stale = [
        path.parent / f".{NAME}.json.{suffix}.tmp" for suffix in ("0123456789ab", "ffffffffffff")
    ]
    for file in stale:
        file.write_text('{"name": "hel', encoding="utf-8")
    # A live writer of another workflow, one whose name starts with `hello.json.`.
    others = [
        path.parent / ".other.json.0123456789ab.tmp",
        path.parent / f".{NAME}.json.x.json.0123456789ab.tmp",
    ]
    for file in others:
        file.write_text("{", encoding="utf-8")

    metadata = manager.update_metadata(NAME, {"execution_count": lambda n: (n or 0) + 1})

    assert metadata["execution_count"] == 1
    assert [file for file in stale if file.exists()] == []
    assert [file for file in others if not file.exists()] == []
    assert _checked_count(path) == 1
