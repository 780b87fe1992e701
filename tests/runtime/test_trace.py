"""Tests for pflow.runtime.trace.WorkflowTraceCollector."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

import pflow.runtime.trace as trace_module
from pflow.runtime.trace import WorkflowTraceCollector, safe_file_part, snapshot

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Opaque:
    def __str__(self) -> str:
        return "<opaque thing>"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_runtime_layer_imports_only_ground_modules_from_core():
    tree = ast.parse(Path(trace_module.__file__).read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
        elif isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
    pflow_imports = [m for m in imported if m.startswith("pflow")]
    ground = {
        "pflow.foundation.exceptions",
        "pflow.foundation.atomic_file",
        "pflow.foundation.json_safe",
    }
    assert all(m in ground or m.startswith("pflow.runtime.") for m in pflow_imports)
    assert "click" not in imported


def test_snapshot_filters_internal_keys():
    shared = {"__cache__": 1, "__llm_calls__": [{"model": "m"}], "_private": 2, "x": 3}
    assert snapshot(shared) == {"__llm_calls__": [{"model": "m"}], "_private": 2, "x": 3}


def test_snapshot_truncates_long_strings():
    exact = "a" * 10_000
    long = "b" * 10_001
    result = snapshot({"exact": exact, "long": long, "nested": {"deep": [long]}})
    assert result["exact"] == exact
    assert result["long"] == "b" * 10_000 + "... [truncated]"
    assert result["nested"]["deep"][0] == result["long"]
    assert snapshot(result) == result


def test_snapshot_converts_non_json_values():
    shared: dict[str, Any] = {
        "raw": b"\x00\x01\x02",
        "buf": bytearray(5),
        "tuple": (1, "two", None, True, 1.5),
        "obj": Opaque(),
        "bad": Unprintable(),
        "nan": float("nan"),
        "keys": {1: "one"},
        "set": {3},
    }
    result = snapshot(shared)
    assert result == {
        "raw": "<binary data: 3 bytes>",
        "buf": "<binary data: 5 bytes>",
        "tuple": [1, "two", None, True, 1.5],
        "obj": "<opaque thing>",
        "bad": "<unprintable Unprintable>",
        "nan": "nan",
        "keys": {"1": "one"},
        "set": "{3}",
    }
    json.dumps(result, allow_nan=False)


def test_snapshot_handles_cycles_and_is_a_copy():
    inner: list[Any] = [1]
    shared: dict[str, Any] = {"list": inner, "same": inner}
    shared["self"] = shared
    inner.append(inner)
    result = snapshot(shared)
    assert result["self"] == "<circular reference>"
    assert result["list"] == [1, "<circular reference>"]
    assert result["same"] == [1, "<circular reference>"]
    inner.append("later")
    assert result["list"] == [1, "<circular reference>"]


def test_record_node_mutations_and_snapshot():
    collector = WorkflowTraceCollector("demo")
    shared: dict[str, Any] = {"a": 1, "b": {"v": 2}, "c": 3, "__internal__": "x"}
    before = collector.snapshot(shared)
    shared["b"]["v"] = 5
    del shared["c"]
    shared["d"] = 4
    shared["__internal__"] = "changed"
    collector.record_node("n1", "shell", 12.34567, True, before, shared)
    shared["a"] = "mutated after recording"
    (event,) = collector.events
    assert list(event) == [
        "node_id",
        "node_type",
        "duration_ms",
        "success",
        "mutations",
        "shared_after",
    ]
    assert event["duration_ms"] == 12.346
    assert event["mutations"] == {"added": ["d"], "removed": ["c"], "modified": ["b"]}
    assert event["shared_after"] == {"a": 1, "b": {"v": 5}, "d": 4}


def test_record_failed_node_includes_error():
    collector = WorkflowTraceCollector("demo")
    collector.record_node("ok", "shell", 1, True, {}, {"x": 1})
    collector.record_node("bad", "http", 2, False, {"x": 1}, {"x": 1}, error="boom")
    failed = collector.events[1]
    assert failed["error"] == "boom"
    assert list(failed)[4] == "error"
    assert failed["mutations"] == {"added": [], "removed": [], "modified": []}
    data = collector.to_dict()
    assert data["nodes_executed"] == 2
    assert data["nodes_failed"] == 1


def test_to_dict_shape_before_and_after_finish():
    collector = WorkflowTraceCollector("demo")
    unfinished = collector.to_dict()
    assert unfinished["end_time"] is None and unfinished["final_status"] is None
    collector.finish("failed")
    data = collector.to_dict()
    assert list(data) == [
        "format_version",
        "execution_id",
        "workflow_name",
        "start_time",
        "end_time",
        "duration_ms",
        "final_status",
        "nodes_executed",
        "nodes_failed",
        "nodes",
    ]
    assert data["format_version"] == "1.0"
    assert UUID.match(data["execution_id"])
    assert data["workflow_name"] == "demo"
    assert ISO_UTC.match(data["start_time"]) and ISO_UTC.match(data["end_time"])
    assert data["start_time"] <= data["end_time"]
    assert isinstance(data["duration_ms"], float) and data["duration_ms"] >= 0
    assert data["final_status"] == "failed"
    assert (data["nodes_executed"], data["nodes_failed"], data["nodes"]) == (0, 0, [])


def test_finish_rejects_unknown_status():
    with pytest.raises(ValueError, match="bogus"):
        WorkflowTraceCollector("demo").finish("bogus")


def test_execution_ids_differ():
    assert WorkflowTraceCollector("a").execution_id != WorkflowTraceCollector("a").execution_id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("my-flow_1.0", "my-flow_1.0"),
        ("my flow/../x", "my-flow-..-x"),
        ("  spaced  ", "spaced"),
        ("🙂🙂", "workflow"),
        ("", "workflow"),
        ("a" * 39 + " b", "a" * 39),
        ("c" * 60, "c" * 40),
    ],
)
def test_safe_file_part(name: str, expected: str):
    assert safe_file_part(name) == expected


def test_save_names_never_collide(tmp_path: Path):
    collector = WorkflowTraceCollector("my flow")
    collector.record_node("n", "shell", 1.0, True, {}, {"out": "é"})
    collector.finish("success")
    directory = tmp_path / "debug" / "nested"
    first = collector.save(directory)
    second = collector.save(directory)
    third = collector.save(directory)
    stamp = collector.start_time.strftime("%Y%m%d-%H%M%S")
    assert first.name == f"workflow-trace-my-flow-{stamp}.json"
    assert second.name == f"workflow-trace-my-flow-{stamp}-2.json"
    assert third.name == f"workflow-trace-my-flow-{stamp}-3.json"
    expected = json.dumps(collector.to_dict(), indent=2, ensure_ascii=False) + "\n"
    for path in (first, second, third):
        assert path.parent == directory
        assert path.read_text(encoding="utf-8") == expected
    assert json.loads(first.read_text(encoding="utf-8"))["nodes"][0]["shared_after"] == {"out": "é"}
