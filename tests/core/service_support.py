"""Helpers shared by the service tests: small IR builders and result checks."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pflow.core.workflow_executor_service import ExecutionResult
from pflow.foundation.schemas import document_errors

RESULT_SCHEMA = "execution-result.schema.json"


def shell(node_id: str, command: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "shell", "params": {"command": command, **params}}


def workflow(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An IR of `nodes` chained by default edges (unless `edges` is given)."""
    ir: dict[str, Any] = {"ir_version": "0.1.0", "nodes": list(nodes)}
    if "edges" not in extra:
        ir["edges"] = [{"from": a["id"], "to": b["id"]} for a, b in itertools.pairwise(nodes)]
    ir.update(extra)
    return ir


def assert_schema_valid(result: ExecutionResult) -> dict[str, Any]:
    """`to_dict()` validates against the published schema and is strict JSON."""
    data = result.to_dict()
    assert document_errors(RESULT_SCHEMA, data) == []
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    return data


def comparable(result: ExecutionResult) -> dict[str, Any]:
    """The JSON form without what differs between two runs of the same workflow."""
    data = result.to_dict()
    del data["duration"]
    data["exception_type"] = type(result.exception).__name__ if result.exception else None
    data["last_node_id"] = result.last_node_id
    return data


def run_doc_example(
    script: Path, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a documentation example as its own Python process and return what it printed."""
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
