"""Concurrent runs of one saved workflow lose no history and never expose a half-written file.

Sixteen processes each run the same saved workflow 25 times through WorkflowExecutorService
(in process, as `pflow <name>` does) while a reader thread keeps parsing the saved file. The
lock around update_metadata's read-modify-write must make the count exactly 400, and the atomic
write (temp file + rename) must mean every read sees a complete JSON document. The sixteen are
forked from one launcher that imported pflow once, so the test pays for one start-up, not
sixteen. A smaller variant does the same through the real command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.schemas import document_errors

NAME = "hello"
IR: dict[str, Any] = {
    "ir_version": "0.1.0",
    "nodes": [{"id": "say", "type": "shell", "params": {"command": "echo hi"}}],
    "edges": [],
}
WORKERS = 16
RUNS_PER_WORKER = 25
CLI_WORKERS = 4
CLI_RUNS_PER_WORKER = 5
TIMEOUT = 120.0
PFLOW_SCRIPT = Path(sys.executable).with_name("pflow")
# Variables of the surrounding shell that would change what a run prints.
_DROPPED_ENV = ("PFLOW_DEBUG", "PFLOW_INCLUDE_TEST_NODES", "PYTHONWARNINGS", "PYTHONSTARTUP")

# The launcher imports pflow, then forks WORKERS worker processes, each with its stderr in
# its own log file. A worker loads the saved workflow, says it is ready, waits for the start
# signal, then runs the workflow RUNS times in process, exactly as the CLI's service call does.
# The launcher marks a worker that ended before the start signal (`exited-<i>`), and prints
# the workers' exit codes, as a JSON list, once all have ended.
LAUNCHER_SCRIPT = textwrap.dedent(
    """
    import json
    import os
    import sys
    import time
    import traceback
    from pathlib import Path

    from pflow.core.workflow_executor_service import WorkflowExecutorService
    from pflow.core.workflow_manager import WorkflowManager

    name, workers, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    signals, logs = Path(sys.argv[4]), Path(sys.argv[5])
    go = signals / "go"

    def work(worker):
        manager = WorkflowManager()
        ir = manager.load_ir(name)
        service = WorkflowExecutorService(workflow_manager=manager)
        (signals / f"ready-{worker}").touch()
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                print(f"worker {worker}: never told to start", file=sys.stderr)
                return 1
            time.sleep(0.002)
        failed = 0
        for run in range(runs):
            result = service.execute_workflow(
                ir, {"worker": worker, "run": run}, workflow_name=name
            )
            if not result.success or result.metadata_error is not None:
                failed += 1
                print(
                    f"worker {worker} run {run}: success={result.success} "
                    f"metadata_error={result.metadata_error!r} errors={result.errors!r}",
                    file=sys.stderr,
                )
        return 1 if failed else 0

    pids = {}
    for worker in range(workers):
        log = os.open(logs / f"worker-{worker}.stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        pid = os.fork()
        if pid == 0:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stdout is the launcher's report
            os.dup2(log, 2)
            try:
                code = work(worker)
            except BaseException:
                traceback.print_exc()
                code = 2
            sys.stderr.flush()
            os._exit(code)
        os.close(log)
        pids[pid] = worker
    codes = {}
    while pids:
        pid, status = os.wait()
        worker = pids.pop(pid)
        codes[worker] = os.waitstatus_to_exitcode(status)
        if not go.exists():
            (signals / f"exited-{worker}").touch()
    print(json.dumps([codes[worker] for worker in range(workers)]))
    """
)


@dataclass
class ReadLog:
    """What the polling reader saw."""

    reads: int = 0
    invalid: list[str] = field(default_factory=list)
    counts_seen: list[int] = field(default_factory=list)


class Reader(threading.Thread):
    """Reads and parses the saved file in a loop until stopped (bounded by a deadline)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.log = ReadLog()
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        last_count = -1
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                text = self.path.read_text(encoding="utf-8")
                data = json.loads(text)
            except (OSError, ValueError) as exc:  # a missing file is as bad as a broken one
                self.log.invalid.append(f"{type(exc).__name__}: {exc}")
                continue
            finally:
                self.log.reads += 1
            count = (data.get("rich_metadata") or {}).get("execution_count", 0)
            if count != last_count:
                self.log.counts_seen.append(count)
                last_count = count


def _environment(tmp_path: Path, pflow_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({"PFLOW_HOME": str(pflow_home), "HOME": str(home)})
    return env


def _saved_workflow(pflow_home: Path) -> Path:
    path = WorkflowManager(pflow_home / "workflows").save(NAME, IR, description="Says hi")
    assert "rich_metadata" not in json.loads(path.read_text(encoding="utf-8"))
    return path


def _check_final_file(path: Path, expected_count: int) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert document_errors("saved-workflow.schema.json", data) == []
    metadata = data["rich_metadata"]
    assert metadata["execution_count"] == expected_count
    assert metadata["last_execution_success"] is True
    assert metadata["last_execution_errors"] == []
    assert data["ir"] == IR
    leftovers = sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp"))
    assert leftovers == []
    assert sorted(p.name for p in path.parent.iterdir()) == [f".{NAME}.json.lock", f"{NAME}.json"]
    return data


def test_sixteen_processes_lose_no_run_and_readers_never_see_broken_json(tmp_path: Path) -> None:
    pflow_home = tmp_path / "pflow-home"
    path = _saved_workflow(pflow_home)
    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER_SCRIPT, encoding="utf-8")
    signals = tmp_path / "signals"
    signals.mkdir()
    go = signals / "go"
    env = _environment(tmp_path, pflow_home)
    logs = [tmp_path / f"worker-{i}.stderr" for i in range(WORKERS)]

    reader = Reader(path)
    # Its own process group: after a failure, what is left of it and its workers is killed.
    argv = [NAME, str(WORKERS), str(RUNS_PER_WORKER), str(signals), str(tmp_path)]
    launcher = subprocess.Popen(
        [sys.executable, str(script), *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        # Release all workers at once, so that their runs really overlap.
        deadline = time.monotonic() + TIMEOUT
        while len(list(signals.glob("ready-*"))) < WORKERS:
            exited = sorted(p.name.removeprefix("exited-") for p in signals.glob("exited-*"))
            assert not exited, f"workers {exited} exited before they were ready"
            assert launcher.poll() is None, launcher.communicate()
            assert time.monotonic() < deadline, "the workers never got ready"
            time.sleep(0.01)
        reader.start()
        go.touch()
        out, err = launcher.communicate(timeout=TIMEOUT)
    finally:
        reader.stop.set()
        if launcher.returncode != 0:  # still running, or failed: its workers may still run
            with contextlib.suppress(ProcessLookupError):
                os.killpg(launcher.pid, signal.SIGKILL)
            launcher.communicate(timeout=TIMEOUT)
        if reader.is_alive():
            reader.join(timeout=TIMEOUT)

    assert launcher.returncode == 0, err
    codes = json.loads(out)
    assert len(codes) == WORKERS
    failures = {
        i: logs[i].read_text(errors="replace").splitlines()[:3]  # enough to see why
        for i, code in enumerate(codes)
        if code
    }
    assert failures == {}, f"{len(failures)} workers failed, first lines: {failures}"
    log = reader.log
    assert log.invalid == [], f"{len(log.invalid)} of {log.reads} reads were not valid JSON"
    assert log.reads > 0
    # One atomic replace after another: a reader never sees the count go backwards.
    assert log.counts_seen == sorted(log.counts_seen)
    assert all(0 <= count <= WORKERS * RUNS_PER_WORKER for count in log.counts_seen)

    data = _check_final_file(path, WORKERS * RUNS_PER_WORKER)
    last = data["rich_metadata"]["last_execution_params"]
    assert set(last) == {"worker", "run"}
    assert last["worker"] in range(WORKERS)
    assert last["run"] in range(RUNS_PER_WORKER)


def test_concurrent_cli_runs_by_name_count_every_run(tmp_path: Path) -> None:
    pflow_home = tmp_path / "pflow-home"
    path = _saved_workflow(pflow_home)
    env = _environment(tmp_path, pflow_home)
    command = [str(PFLOW_SCRIPT)] if PFLOW_SCRIPT.is_file() else [sys.executable, "-m", "pflow"]
    results: list[tuple[int, bytes, bytes]] = []
    results_lock = threading.Lock()
    start = threading.Barrier(CLI_WORKERS, timeout=TIMEOUT)

    def lane() -> None:
        start.wait()
        for _ in range(CLI_RUNS_PER_WORKER):
            done = subprocess.run(
                [*command, NAME],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env=env,
                cwd=tmp_path,
                timeout=TIMEOUT,
                check=False,
            )
            with results_lock:
                results.append((done.returncode, done.stdout, done.stderr))

    reader = Reader(path)
    reader.start()
    lanes = [threading.Thread(target=lane, daemon=True) for _ in range(CLI_WORKERS)]
    try:
        for thread in lanes:
            thread.start()
        for thread in lanes:
            thread.join(timeout=TIMEOUT * 2)
            assert not thread.is_alive(), "a CLI lane did not finish"
    finally:
        reader.stop.set()
        reader.join(timeout=TIMEOUT)

    assert len(results) == CLI_WORKERS * CLI_RUNS_PER_WORKER
    bad = [r for r in results if r != (0, b"hi\n", b"")]
    assert bad == [], f"runs with another outcome than exit 0, 'hi', no stderr: {bad}"
    assert reader.log.invalid == []
    assert reader.log.reads > 0
    assert reader.log.counts_seen == sorted(reader.log.counts_seen)
    data = _check_final_file(path, CLI_WORKERS * CLI_RUNS_PER_WORKER)
    assert data["rich_metadata"]["last_execution_params"] == {}


def test_reader_reports_a_broken_file(tmp_path: Path) -> None:
    """The reader really reports invalid JSON: the zero counts above are not vacuous."""
    path = tmp_path / "broken.json"
    path.write_text('{"name": "hello", "ir": {', encoding="utf-8")
    reader = Reader(path)
    reader.start()
    deadline = time.monotonic() + TIMEOUT
    while reader.log.reads < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    reader.stop.set()
    reader.join(timeout=TIMEOUT)
    assert reader.log.reads >= 3
    assert len(reader.log.invalid) == reader.log.reads
