"""Fixtures of the golden harness: which pflow to run, the HTTP server, record mode."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Ports
from http_server import GoldenServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golden")
    group.addoption(
        "--pflow-bin",
        default=os.environ.get("PFLOW_BIN"),
        help="pflow executable to verify (default: $PFLOW_BIN, else the one beside python)",
    )
    group.addoption(
        "--golden-only",
        default=None,
        metavar="FILE",
        help="run only the cases listed in FILE (one id a line), e.g. those of a baseline",
    )
    group.addoption(
        "--golden-record",
        action="store_true",
        help="write snapshots instead of comparing (refused when CI is set)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    only = config.getoption("--golden-only")
    if not only:
        return
    wanted = set(Path(only).read_text(encoding="utf-8").split())
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        case_id = callspec.params.get("case_id") if callspec else None
        (drop if case_id is not None and case_id not in wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def pflow_bin(request: pytest.FixtureRequest) -> Path:
    chosen = request.config.getoption("--pflow-bin")
    if chosen:
        path = Path(chosen)
    else:
        beside = Path(sys.executable).parent / "pflow"
        path = beside if beside.exists() else Path(shutil.which("pflow") or "pflow")
    if not path.exists():
        pytest.fail(f"pflow executable not found: {path}")
    return path.absolute()


@pytest.fixture(scope="session")
def record_mode(request: pytest.FixtureRequest) -> bool:
    record = bool(request.config.getoption("--golden-record"))
    if record and os.environ.get("CI"):
        pytest.fail("refusing to record golden snapshots with CI set: recording is a reviewed act")
    return record


@pytest.fixture(scope="session")
def golden_ports() -> Iterator[Ports]:
    with GoldenServer() as server:
        yield Ports(server.port, server.refused_port)


@pytest.fixture(scope="session")
def hash_seed() -> str:
    return os.environ.get("GOLDEN_HASHSEED", "0")
