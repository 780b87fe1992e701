"""Shared fixtures for the core tests: an isolated PFLOW_HOME per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from pflow.core.workflow_manager import WorkflowManager


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
