"""The `pflow` program: streams, stop signals and process-level error handling.

The commands live in `pflow.cli.root`, imported only when one runs, so that `pflow --version`
costs little more than starting Python.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from pflow import __version__
from pflow.cli.exit_codes import ExitCode
from pflow.cli.output import StdoutUnwritable, echo_plain, flush_or_silence, prepare_streams
from pflow.foundation.exceptions import Terminated, interruption

# typing is imported by type checkers only: `pflow --version` does not load it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def run(argv: list[str] | None = None) -> None:
    """Run the program and exit with its documented exit code."""
    words = sys.argv[1:] if argv is None else argv
    if words != ["--version"]:
        _quiet_libraries()
    prepare_streams()
    _handle_stop_signals()
    try:
        code = _version() if words == ["--version"] else _main(argv)
        flush_or_silence()
    except StdoutUnwritable as exc:
        code = exc.report()
    except KeyboardInterrupt as exc:  # a signal after the command had finished
        code = _report_interrupt(exc)
    sys.exit(code)


def _version() -> int:
    """`pflow --version` alone: the same line click's version option prints, without click.

    As there, a closed stdout (`>&-`) prints nothing and is not an error.
    """
    if sys.stdout is None:
        return ExitCode.SUCCESS
    try:
        echo_plain(f"pflow {__version__}")
    except BrokenPipeError:
        return ExitCode.BROKEN_PIPE
    return ExitCode.SUCCESS


def _main(argv: list[str] | None) -> int:
    """The command's exit code (StdoutUnwritable is left to `run`, which also flushes)."""
    import click

    from pflow.cli.root import cli

    try:
        code: Any = cli.main(args=argv, prog_name="pflow", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click wraps Ctrl-C (and Terminated) in Abort
        code = _report_interrupt(exc, newline=False)
    except KeyboardInterrupt as exc:
        code = _report_interrupt(exc)
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except BrokenPipeError:
        code = ExitCode.BROKEN_PIPE
    return int(code or 0)


def _report_interrupt(exc: BaseException, *, newline: bool = True) -> int:
    """Tell the user the run was stopped (Ctrl-C, SIGTERM, SIGHUP); return 128 + the signal."""
    stop = interruption(exc)
    text = "Interrupted." if stop.exit_code == ExitCode.INTERRUPTED else f"{stop.message}."
    import click

    with contextlib.suppress(OSError, ValueError, AttributeError):
        click.echo(("\n" if newline else "") + text, err=True)
    return stop.exit_code


def _handle_stop_signals() -> None:
    """SIGTERM and SIGHUP stop pflow the way Ctrl-C does: commands killed, trace finished.

    A signal the parent process set to be ignored (as `nohup` does for SIGHUP) stays ignored.
    After the first one, further stop signals are ignored so the cleanup runs to its end.
    """

    def stop(signum: int, frame: Any) -> None:
        for other in _STOP_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise Terminated(signum)

    for signum in _STOP_SIGNALS:
        with contextlib.suppress(OSError, ValueError):  # ValueError: not the main thread
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, stop)


def _quiet_libraries() -> None:
    """Library log records and Python warnings never reach users unless asked for."""
    import logging
    import warnings

    debug = os.environ.get("PFLOW_DEBUG", "").lower() in {"1", "true", "yes"}
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
        return
    # A root handler that drops everything: Python's last-resort handler never prints.
    logging.getLogger().addHandler(logging.NullHandler())
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
