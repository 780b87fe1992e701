"""Library log records and Python warnings never reach the user's stderr (unless PFLOW_DEBUG)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .conftest import TIMEOUT

# Runs pflow after making the shell node log a warning and an error, and warn, while it runs,
# the way a chatty library would.
WRAPPER = textwrap.dedent(
    """
    import logging, sys, warnings
    import pflow.nodes.shell as shell

    real = shell.run_command

    def noisy(*args, **kwargs):
        logging.getLogger("pflow.nodes.shell").warning("LOG-WARNING from a library")
        logging.getLogger("some.library").error("LOG-ERROR from a library")
        warnings.warn("PY-WARNING from a library", DeprecationWarning, stacklevel=1)
        warnings.warn("PY-USERWARNING from a library", UserWarning, stacklevel=1)
        return real(*args, **kwargs)

    shell.run_command = noisy
    sys.argv = ["pflow", *sys.argv[1:]]
    from pflow.cli.app import run
    run()
    """
)


@pytest.fixture
def noisy_run(sandbox, flows):
    script = sandbox.root / "noisy.py"
    script.write_text(WRAPPER, encoding="utf-8")
    flows.shell("echo quiet")

    def run(*args: str, env=None):
        return subprocess.run(
            [sys.executable, str(script), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=sandbox.workdir,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )

    return run


@pytest.mark.parametrize("extra", [[], ["--output-format", "json"], ["-v"]])
def test_log_records_and_warnings_do_not_leak(noisy_run, extra):
    proc = noisy_run("run", "flow.json", *extra)
    assert proc.returncode == 0
    assert b"LOG-" not in proc.stderr
    assert b"PY-" not in proc.stderr
    assert b"LOG-" not in proc.stdout
    if not extra:
        assert (proc.stdout, proc.stderr) == (b"quiet\n", b"")


def test_pflow_debug_shows_log_records(noisy_run, monkeypatch):
    """Control: the records are really emitted, and PFLOW_DEBUG=1 lets them through."""
    monkeypatch.setenv("PFLOW_DEBUG", "1")
    proc = noisy_run("run", "flow.json")
    assert proc.returncode == 0
    assert proc.stdout == b"quiet\n"
    assert b"pflow.nodes.shell: LOG-WARNING from a library\n" in proc.stderr
    assert b"some.library: LOG-ERROR from a library\n" in proc.stderr
