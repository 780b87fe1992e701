"""Shared fixtures for the core tests: an isolated PFLOW_HOME per test, terminals, and a
node type that behaves like Ctrl-C."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import IO, Any

import pytest

from pflow.core import workflow_executor_service as service_module
from pflow.core.workflow_manager import WorkflowManager
from pflow.nodes.base import PflowNode
from pflow.nodes.spec import NodeSpec, OutputSpec
from pflow.registry import Registry
from pflow.registry.catalog import BUILTIN_SPECS

TtyFactory = Callable[[], IO[str]]


class InterruptProbe(PflowNode):
    """Test node that behaves like Ctrl-C arriving while it runs."""

    def exec(self, prep_res: Any) -> Any:
        raise KeyboardInterrupt

    def post(self, shared: MutableMapping[str, Any], prep_res: Any, exec_res: Any) -> str:
        return "default"  # pragma: no cover - exec never returns


PROBE_SPEC = NodeSpec(
    name="interrupt-probe",
    module="tests.core.conftest",  # never imported: probe_registry provides the class
    class_name="InterruptProbe",
    description="Raises KeyboardInterrupt",
    package="tests",
    outputs=(OutputSpec("never", "string", "-"),),
    max_retries=1,
)


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and PFLOW_HOME under tmp_path, test nodes hidden; returns PFLOW_HOME."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PFLOW_HOME", str(tmp_path / "pflow-home"))
    monkeypatch.delenv("PFLOW_INCLUDE_TEST_NODES", raising=False)
    return tmp_path / "pflow-home"


@pytest.fixture
def probe_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's registry also knows the `interrupt-probe` node type."""

    class WithProbe(Registry):
        def __init__(self) -> None:
            super().__init__((*BUILTIN_SPECS, PROBE_SPEC))
            # Handed over directly: conftest modules have no importable name of their own.
            self._classes[PROBE_SPEC.name] = InterruptProbe

    monkeypatch.setattr(service_module, "Registry", WithProbe)


@pytest.fixture
def tty() -> Iterator[TtyFactory]:
    """Factory of text streams attached to a pseudo-terminal (closed after the test)."""
    opened: list[IO[str]] = []
    masters: list[int] = []

    def make() -> IO[str]:
        master, slave = os.openpty()
        masters.append(master)
        stream = open(slave, "w", encoding="utf-8")  # noqa: SIM115 - closed in teardown
        opened.append(stream)
        return stream

    yield make
    for stream in opened:
        stream.close()
    for master in masters:
        os.close(master)


@pytest.fixture
def pflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "pflow-home"
    monkeypatch.setenv("PFLOW_HOME", str(home))
    return home


@pytest.fixture
def manager(pflow_home: Path) -> WorkflowManager:
    return WorkflowManager()


@pytest.fixture
def sample_ir() -> dict[str, object]:
    return {
        "ir_version": "0.1.0",
        "nodes": [{"id": "greet", "type": "shell", "params": {"command": "echo héllo"}}],
        "edges": [],
    }
