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
        "--golden-order",
        default=None,
        metavar="FILE",
        help="run the cases listed in FILE (one id a line) first, in that order, then the rest",
    )
    group.addoption(
        "--golden-no-new",
        action="store_true",
        help="on a mismatch, do not write <stream>.new files beside the snapshots",
    )
    group.addoption(
        "--golden-record",
        action="store_true",
        help="write snapshots instead of comparing (refused when CI is set)",
    )


def _case_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("case_id") if callspec else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = config.getoption("--golden-order")
    if order:
        first = Path(order).read_text(encoding="utf-8").split()
        rank = {case_id: n for n, case_id in enumerate(first)}
        items.sort(key=lambda item: rank.get(_case_of(item) or "", len(rank)))  # stable
    only = config.getoption("--golden-only")
    if not only:
        return
    wanted = set(Path(only).read_text(encoding="utf-8").split())
    keep, drop = [], []
    for item in items:
        case_id = _case_of(item)
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
def write_new(request: pytest.FixtureRequest) -> bool:
    return not request.config.getoption("--golden-no-new")


@pytest.fixture(scope="session")
def golden_ports() -> Iterator[Ports]:
    with GoldenServer() as server:
        yield Ports(server.port, server.refused_port)


@pytest.fixture(scope="session")
def hash_seed() -> str:
    return os.environ.get("GOLDEN_HASHSEED", "0")
