"""Finding the workflow a user named: special files and names the system cannot look up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pflow.core.workflow_source import load_workflow_file, resolve_workflow
from pflow.foundation.exceptions import InvalidWorkflowError, WorkflowNotFoundError


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "f.json"
    os.mkfifo(fifo)  # opening it for reading would block: the check must not
    with pytest.raises(InvalidWorkflowError, match="is a FIFO"):
        load_workflow_file(fifo)


def test_a_device_is_refused() -> None:
    with pytest.raises(InvalidWorkflowError, match="is a device"):
        load_workflow_file(Path("/dev/null"))


def test_a_regular_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text('{"ir_version": "0.1.0", "nodes": []}', encoding="utf-8")
    assert load_workflow_file(path)["ir_version"] == "0.1.0"


@pytest.mark.usefixtures("isolated_home")
@pytest.mark.parametrize("text", ["a" * 300, "a" * 300 + ".json", "d/" + "b" * 300])
def test_names_too_long_for_the_system_are_not_found(text: str) -> None:
    with pytest.raises(WorkflowNotFoundError):
        resolve_workflow(text)


@pytest.mark.usefixtures("isolated_home")
def test_a_name_longer_than_any_saved_name_is_not_looked_up() -> None:
    with pytest.raises(WorkflowNotFoundError, match="not found"):
        resolve_workflow("n" * 51)
