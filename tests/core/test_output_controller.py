"""Tests for pflow.core.output_controller: interactivity and exact progress output."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import IO, Any

import pytest

from pflow.core import OutputController as LazyOutputController
from pflow.core.output_controller import OutputController

TtyFactory = Callable[[], IO[str]]  # the `tty` fixture of conftest.py


class FlushCounter(io.StringIO):
    """StringIO recording, after each flush, everything written so far."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        super().flush()
        self.flushed.append(self.getvalue())


def interactive(tty: TtyFactory, stderr: IO[str]) -> OutputController:
    return OutputController(False, "text", stdin=tty(), stdout=tty(), stderr=stderr)


def test_lazy_reexport():
    assert LazyOutputController is OutputController


@pytest.mark.parametrize("print_flag", [False, True])
@pytest.mark.parametrize("output_format", ["text", "json"])
@pytest.mark.parametrize("stdin_tty", [False, True])
@pytest.mark.parametrize("stdout_tty", [False, True])
def test_interactivity_matrix(
    tty: TtyFactory, print_flag: bool, output_format: str, stdin_tty: bool, stdout_tty: bool
):
    stdin = tty() if stdin_tty else io.StringIO()
    stdout = tty() if stdout_tty else io.StringIO()
    stderr = io.StringIO()
    controller = OutputController(
        print_flag, output_format, stdin=stdin, stdout=stdout, stderr=stderr
    )
    expected = not print_flag and output_format == "text" and stdin_tty and stdout_tty
    assert controller.is_interactive() is expected
    callback = controller.create_progress_callback()
    assert (callback is not None) is expected
    controller.progress("hello")
    assert stderr.getvalue() == ("hello\n" if expected else "")


def test_closed_tty_is_not_interactive(tty: TtyFactory):
    stdout = tty()
    controller = OutputController(False, "text", stdin=tty(), stdout=stdout)
    assert controller.is_interactive()
    stdout.close()
    assert not controller.is_interactive()


def test_missing_sys_stdin_is_not_a_tty(tty: TtyFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "stdin", None)
    controller = OutputController(False, "text", stdout=tty())
    assert controller.stdin is None
    assert not controller.is_interactive()
    assert controller.create_progress_callback() is None


def test_stream_without_isatty_is_not_a_tty(tty: TtyFactory):
    class Bare:
        closed = False

    controller = OutputController(False, "text", stdin=Bare(), stdout=tty())  # type: ignore[arg-type]
    assert not controller.is_interactive()


def test_defaults_read_at_construction(tty: TtyFactory, monkeypatch: pytest.MonkeyPatch):
    first = io.StringIO()
    monkeypatch.setattr(sys, "stdin", tty())
    monkeypatch.setattr(sys, "stdout", tty())
    monkeypatch.setattr(sys, "stderr", first)
    controller = OutputController(False, "text")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    controller.progress("to the first stream")
    assert first.getvalue() == "to the first stream\n"


def test_progress_exact_output(tty: TtyFactory):
    stderr = FlushCounter()
    callback = interactive(tty, stderr).create_progress_callback()
    assert callback is not None
    callback("", "workflow_start", detail="3")
    callback("fetch", "node_start")
    callback("fetch", "node_complete", 1234.5)
    callback("", "workflow_start", depth=1, detail="1")
    callback("inner", "node_start", depth=1)
    callback("inner", "node_complete", 40.0, depth=1)
    callback("save", "node_start")
    callback("save", "node_failed", detail="x" * 80 + "\nsecond line")
    callback("other", "node_start")
    callback("other", "node_failed", detail="Permission denied\ntraceback...")
    assert stderr.getvalue() == (
        "Executing workflow (3 nodes):\n"
        "  fetch... ✓ 1.2s\n"
        "  Executing workflow (1 node):\n"
        "    inner... ✓ 0.0s\n"
        "  save... ✗ " + "x" * 67 + "...\n"
        "  other... ✗ Permission denied\n"
    )
    assert stderr.flushed[:3] == [
        "Executing workflow (3 nodes):\n",
        "Executing workflow (3 nodes):\n  fetch...",
        "Executing workflow (3 nodes):\n  fetch... ✓ 1.2s\n",
    ]
    assert len(stderr.flushed) == 10


def test_zero_nodes_plural_and_unknown_event(tty: TtyFactory):
    stderr = io.StringIO()
    callback = interactive(tty, stderr).create_progress_callback()
    assert callback is not None
    callback("", "workflow_start", detail="0")
    callback("x", "something_else")
    assert stderr.getvalue() == "Executing workflow (0 nodes):\n"


def test_callback_swallows_errors(tty: TtyFactory):
    attempts: list[str] = []

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            attempts.append(text)
            raise OSError("broken pipe")

    callback = interactive(tty, Broken()).create_progress_callback()
    assert callback is not None
    callback("a", "node_start")
    callback("", "workflow_start", detail="not a number")
    assert attempts == ["  a..."]
    good = io.StringIO()
    good_callback = interactive(tty, good).create_progress_callback()
    assert good_callback is not None
    good_callback("", "workflow_start", detail="not a number")
    good_callback("n", "node_complete", "fast")  # type: ignore[arg-type]
    assert good.getvalue() == ""


def test_progress_swallows_errors(tty: TtyFactory):
    attempts: list[str] = []

    class Broken(io.StringIO):
        def write(self, text: str) -> Any:
            attempts.append(text)
            raise ValueError("closed")

    interactive(tty, Broken()).progress("hi")
    assert attempts == ["hi\n"]
