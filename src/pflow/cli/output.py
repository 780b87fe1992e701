"""Standard output as pflow writes it: valid UTF-8 always, and a failed write said once."""

from __future__ import annotations

import contextlib
import io
import os
import sys

from pflow.cli.exit_codes import ExitCode

# typing is imported by type checkers only: `pflow --version` does not load it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO


class StdoutUnwritable(Exception):
    """Standard output cannot take the result (a full disk, an I/O error)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error

    def report(self) -> int:
        """One line on stderr; stdout is silenced so exiting prints nothing more. Exit 1."""
        import click

        silence_stdout()
        reason = self.error.strerror or str(self.error)
        with contextlib.suppress(OSError, ValueError):
            click.echo(f"Error: could not write the output to standard output: {reason}", err=True)
        return ExitCode.WORKFLOW_FAILED


def prepare_streams() -> None:
    """Make stdout safe to write whatever a workflow produced.

    A closed descriptor 0, 1 or 2 (`>&-`) is reopened on /dev/null, so no file pflow opens
    later takes its number; stdout itself stays closed to pflow (see `echo_stdout`). Text
    that cannot be encoded (lone surrogates from invalid bytes) is replaced, never written
    as invalid UTF-8, and an unbuffered stdout gets a buffer again.
    """
    for fd in (0, 1, 2):
        _reopen_if_closed(fd)
    stream = sys.stdout
    if stream is None:
        return
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    _buffer_stdout()


def echo_stdout(text: str) -> None:
    """Write `text` plus one newline to stdout (ANSI codes stripped when not a terminal).

    A closed stdout (`>&-`) is treated as a reader that went away (BrokenPipeError, exit
    141); any other failed write raises StdoutUnwritable.
    """
    import click

    _write_stdout(lambda out: click.echo(text, file=out))


def echo_plain(text: str) -> None:
    """`echo_stdout` for text known to hold no ANSI codes, without importing click."""

    def write(out: TextIO) -> None:
        out.write(text + "\n")
        out.flush()

    _write_stdout(write)


def _write_stdout(write: Callable[[TextIO], object]) -> None:
    if sys.stdout is None:
        raise BrokenPipeError("standard output is closed")
    try:
        write(sys.stdout)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StdoutUnwritable(exc) from exc


def flush_or_silence() -> None:
    """Flush stdout at exit; if that fails, silence it so the interpreter's exit stays quiet.

    A reader that went away is not an error here; any other failure raises StdoutUnwritable.
    """
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        silence_stdout()
    except OSError as exc:
        raise StdoutUnwritable(exc) from exc


def silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so what is still buffered for it goes nowhere."""
    if sys.stdout is None:
        return
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _reopen_if_closed(fd: int) -> None:
    try:
        os.fstat(fd)
    except OSError:
        with contextlib.suppress(OSError):
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)


def _buffer_stdout() -> None:
    """Give an unbuffered stdout (PYTHONUNBUFFERED) a buffer again.

    An unbuffered text stdout ignores short writes, so a reader that goes away mid-write
    would lose the rest of the output silently instead of raising BrokenPipeError.
    """
    stream = sys.stdout
    if stream is None or not isinstance(getattr(stream, "buffer", None), io.RawIOBase):
        return
    with contextlib.suppress(OSError, ValueError):
        buffered = open(stream.fileno(), "wb", closefd=False)  # noqa: SIM115 - lives on
        sys.stdout = io.TextIOWrapper(
            buffered, encoding=stream.encoding, errors="replace", write_through=True
        )
