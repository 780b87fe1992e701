"""Fixtures for the CLI tests: an isolated home per test, workflow files, and two ways to run pflow.

- `invoke(args, stdin=b"")` runs `pflow.cli.app.run(args)` in this process, inside click's
  `CliRunner` isolation (stdin, stdout and stderr replaced), and returns its exit code and the
  bytes written to each stream.
- `run_pflow(args, stdin=b"")` runs the installed console script in a subprocess whose standard
  input is always given explicitly (never the test runner's).

Both return a `Result`. Every test gets its own `PFLOW_HOME`, `HOME`, `LLM_USER_PATH` and working
directory under `tmp_path`, so tests never touch the real home directory and run in parallel.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pflow.cli import app
from pflow.foundation.schemas import document_errors

PFLOW_SCRIPT = Path(sys.executable).with_name("pflow")
# Variables of the surrounding shell that would change what a run prints.
_DROPPED_ENV = (
    "PFLOW_DEBUG",
    "PFLOW_INCLUDE_TEST_NODES",
    "PYTHONUNBUFFERED",
    "PYTHONWARNINGS",
    "PYTHONSTARTUP",
    "NO_COLOR",
    "FORCE_COLOR",
)
TIMEOUT = 60


def pflow_command() -> list[str]:
    """The installed console script, else `python -m pflow`."""
    if PFLOW_SCRIPT.is_file():
        return [str(PFLOW_SCRIPT)]
    return [sys.executable, "-m", "pflow"]


@dataclass
class Result:
    """Exit code and the raw bytes a run wrote to stdout and stderr."""

    code: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8")

    def json(self) -> Any:
        """stdout parsed as exactly one JSON document."""
        return json.loads(self.out)

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"Result(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


@dataclass
class Sandbox:
    """The directories of one test."""

    root: Path
    workdir: Path
    pflow_home: Path
    home: Path
    llm_user_path: Path

    @property
    def workflows_dir(self) -> Path:
        return self.pflow_home / "workflows"

    @property
    def debug_dir(self) -> Path:
        return self.pflow_home / "debug"


@pytest.fixture(autouse=True)
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """Point PFLOW_HOME, HOME and LLM_USER_PATH at fresh directories and cd into a work dir.

    Afterwards, every run record the test left is checked against its schema.
    """
    box = Sandbox(
        root=tmp_path,
        workdir=tmp_path / "work",
        pflow_home=tmp_path / "pflow-home",
        home=tmp_path / "home",
        llm_user_path=tmp_path / "llm",
    )
    for directory in (box.workdir, box.home, box.llm_user_path):
        directory.mkdir()
    monkeypatch.setenv("PFLOW_HOME", str(box.pflow_home))
    monkeypatch.setenv("HOME", str(box.home))
    monkeypatch.setenv("LLM_USER_PATH", str(box.llm_user_path))
    for name in _DROPPED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(box.workdir)
    yield box
    for record in sorted(box.pflow_home.glob("runs/*/record.json")):
        try:
            document = json.loads(record.read_bytes())
        except ValueError:
            continue  # a test that damages a record on purpose
        errors = document_errors("run-record.schema.json", document)
        assert errors == [], f"{record} breaks schemas/run-record.schema.json: {errors}"


# -- workflow files -------------------------------------------------------------------------


class Flows:
    """Builds workflow IRs and writes them as files in the work directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    @staticmethod
    def shell_node(node_id: str, command: str, **params: Any) -> dict[str, Any]:
        return {"id": node_id, "type": "shell", "params": {"command": command, **params}}

    @staticmethod
    def echo_node(node_id: str, **params: Any) -> dict[str, Any]:
        return {"id": node_id, "type": "echo", "params": params}

    @staticmethod
    def ir(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """An IR of `nodes` chained in order by default edges, plus top-level `extra` keys."""
        ir: dict[str, Any] = {"ir_version": "0.1.0", "nodes": list(nodes)}
        if "edges" not in extra:
            ir["edges"] = [{"from": a["id"], "to": b["id"]} for a, b in itertools.pairwise(nodes)]
        ir.update(extra)
        return ir

    def write(self, name: str, content: Mapping[str, Any] | str) -> Path:
        """Write `<workdir>/<name>` (a dict as JSON, a str as it is) and return its path."""
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    def shell(
        self,
        command: str,
        name: str = "flow.json",
        node_id: str = "run",
        params: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Path:
        """Write a one-shell-node workflow file; `extra` are top-level IR keys."""
        node = self.shell_node(node_id, command, **(params or {}))
        return self.write(name, self.ir(node, **extra))


@pytest.fixture
def flows(sandbox: Sandbox) -> Flows:
    return Flows(sandbox.workdir)


@pytest.fixture
def test_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the hidden `echo` test node usable (in process and in subprocesses)."""
    monkeypatch.setenv("PFLOW_INCLUDE_TEST_NODES", "1")


# -- running pflow --------------------------------------------------------------------------

RunPflow = Callable[..., Result]


def _subprocess_env(extra: Mapping[str, str | None] | None) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.fixture
def run_pflow(sandbox: Sandbox) -> RunPflow:
    """Run the console script: `run_pflow(args, stdin=b"", env=None, cwd=None)` -> Result."""

    def run(
        args: Sequence[str],
        stdin: bytes = b"",
        env: Mapping[str, str | None] | None = None,
        cwd: Path | None = None,
        timeout: float = TIMEOUT,
    ) -> Result:
        proc = subprocess.run(
            [*pflow_command(), *args],
            input=stdin,
            capture_output=True,
            env=_subprocess_env(env),
            cwd=cwd or sandbox.workdir,
            timeout=timeout,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def invoke(sandbox: Sandbox) -> RunPflow:
    """Run `pflow.cli.app.run(args)` in process under CliRunner isolation -> Result."""

    def run(
        args: Sequence[str],
        stdin: bytes = b"",
        env: Mapping[str, str | None] | None = None,
    ) -> Result:
        runner = CliRunner()
        root = logging.getLogger()
        handlers = list(root.handlers)
        with warnings.catch_warnings(), runner.isolation(input=stdin, env=env) as streams:
            stdout, stderr, _ = streams
            try:
                app.run(list(args))
            except SystemExit as exc:
                code = exc.code
            else:  # pragma: no cover - run() always exits
                code = None
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                root.handlers[:] = handlers
        assert isinstance(code, int), f"run() exited with {code!r}"
        return Result(code, stdout.getvalue(), stderr.getvalue())

    return run


def _default_sigint() -> None:
    # The test runner may ignore SIGINT; an ignored SIGINT would be inherited by pflow.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def sleeping_workflow(flows: Flows, sandbox: Sandbox) -> Any:
    """`start(*options)` runs a workflow whose shell node sleeps -> (process, pid of `sleep`).

    It returns once the sleep is running. Whatever is still alive at teardown is killed.
    """
    started: list[tuple[subprocess.Popen[bytes], int | None]] = []
    pid_file = sandbox.workdir / "sleep.pid"
    flows.shell(f"echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file} && exec sleep 60")

    def start(*options: str) -> tuple[subprocess.Popen[bytes], int]:
        proc = subprocess.Popen(
            [*pflow_command(), "run", "flow.json", *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=sandbox.workdir,
            preexec_fn=_default_sigint,
        )
        started.append((proc, None))
        deadline = time.monotonic() + TIMEOUT
        while not pid_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"the sleep never started: rc={proc.returncode} {out!r} {err!r}")
            time.sleep(0.005)
        child = int(pid_file.read_text())
        started[-1] = (proc, child)
        return proc, child

    yield start
    for proc, child in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)


def sleep_is_gone(pid: int) -> bool:
    return not _alive(pid)
