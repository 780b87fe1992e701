"""Shared fixtures for the runtime tests: an isolated home and the hidden test nodes on demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from pflow.registry import Registry


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real home and from the caller's test-node setting."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PFLOW_HOME", str(home / ".pflow"))
    monkeypatch.delenv("PFLOW_INCLUDE_TEST_NODES", raising=False)


@pytest.fixture
def echo_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the hidden `echo` test node usable."""
    monkeypatch.setenv("PFLOW_INCLUDE_TEST_NODES", "1")


@pytest.fixture
def registry() -> Registry:
    return Registry()
