"""Tests for pflow.foundation.paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from pflow.foundation import paths


def test_pflow_home_uses_env_and_does_not_create(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "custom"
    monkeypatch.setenv("PFLOW_HOME", str(home))
    assert paths.pflow_home() == home
    assert paths.workflows_dir() == home / "workflows"
    assert paths.debug_dir() == home / "debug"
    assert not home.exists()


def test_pflow_home_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PFLOW_HOME", "~/elsewhere")
    assert paths.pflow_home() == tmp_path / "elsewhere"


@pytest.mark.parametrize("value", [None, ""])
def test_pflow_home_defaults_to_dot_pflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
):
    monkeypatch.setenv("HOME", str(tmp_path))
    if value is None:
        monkeypatch.delenv("PFLOW_HOME", raising=False)
    else:
        monkeypatch.setenv("PFLOW_HOME", value)
    assert paths.pflow_home() == tmp_path / ".pflow"
    assert not (tmp_path / ".pflow").exists()
