"""`pflow --version`, `--help` and a shell-only run must not import llm, httpx and friends.

Each case runs the CLI entry point in a fresh interpreter through a small wrapper script that
registers an `atexit` hook; the hook writes the names of the imported top-level packages to a
file once pflow has exited.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from .conftest import TIMEOUT

HEAVY = ("llm", "httpx", "openai", "pydantic", "sqlite_utils", "httpcore")

WRAPPER = textwrap.dedent(
    """
    import atexit, json, sys

    def _report(path=sys.argv[1]):
        names = sorted({name.split(".")[0] for name in list(sys.modules)})
        with open(path, "w", encoding="utf-8") as out:
            json.dump(names, out)

    atexit.register(_report)
    sys.argv = ["pflow", *sys.argv[2:]]
    from pflow.cli.app import run
    run()
    """
)


@pytest.fixture
def imported(sandbox):
    """`imported(*args)` -> (exit code, stdout, set of top-level modules imported)."""
    script = sandbox.root / "wrapper.py"
    script.write_text(WRAPPER, encoding="utf-8")
    report = sandbox.root / "modules.json"

    def run(*args: str, stdin: bytes = b""):
        proc = subprocess.run(
            [sys.executable, str(script), str(report), *args],
            input=stdin,
            capture_output=True,
            cwd=sandbox.workdir,
            timeout=TIMEOUT,
            check=False,
        )
        modules = set(json.loads(report.read_text(encoding="utf-8")))
        return proc.returncode, proc.stdout, modules

    return run


def assert_light(modules):
    assert "pflow" in modules  # the hook saw pflow itself
    assert sorted(m for m in HEAVY if m in modules) == []


def test_version(imported):
    code, stdout, modules = imported("--version")
    assert (code, stdout.startswith(b"pflow ")) == (0, True)
    assert_light(modules)


@pytest.mark.parametrize("words", [["--help"], ["run", "--help"], ["workflow", "--help"]])
def test_help(imported, words):
    code, stdout, modules = imported(*words)
    assert code == 0
    assert stdout.startswith(b"Usage: pflow")
    assert_light(modules)


def test_shell_only_workflow_run(flows, imported):
    flows.shell("echo light")
    code, stdout, modules = imported("run", "flow.json", "--output-format", "json")
    assert code == 0
    assert json.loads(stdout)["result"] == {"stdout": "light\n"}
    assert_light(modules)


@pytest.mark.parametrize("words", [["workflow", "list"], ["registry", "list"]])
def test_listing_commands(imported, words):
    code, _, modules = imported(*words)
    assert code == 0
    assert_light(modules)


def test_http_workflow_does_import_httpx(flows, imported, httpserver):
    """Control: the hook does see heavy libraries when a workflow needs them."""
    httpserver.expect_request("/").respond_with_data("pong")
    flows.write(
        "flow.json",
        flows.ir({"id": "get", "type": "http", "params": {"url": httpserver.url_for("/")}}),
    )
    code, stdout, modules = imported("run", "flow.json")
    assert (code, stdout) == (0, b"pong\n")
    assert "httpx" in modules
    assert "llm" not in modules
