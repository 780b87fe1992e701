"""The `pflow` program: root command group, sub-command routing, process-level error handling."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from typing import Any

import click

from pflow import __version__
from pflow.cli.exit_codes import EXIT_CODE_HELP, ExitCode

# Options of `run` that take a value: the router must skip the value when it looks for the
# first positional word (so `pflow -o workflow x.json` runs x.json).
_RUN_VALUE_OPTIONS = frozenset({"-o", "--output-key", "--output-format"})
_ROOT_ONLY = frozenset({"--help", "-h", "--version"})
# Sub-commands are imported only when used, so `pflow --version` stays fast.
_COMMANDS = {
    "run": ("pflow.cli.main", "run_command"),
    "workflow": ("pflow.cli.workflow_commands", "workflow_group"),
    "registry": ("pflow.cli.registry_commands", "registry_group"),
}

ROOT_HELP = f"""pflow runs workflows: JSON files of shell, file, HTTP and LLM steps.

\b
Quick start:
  pflow run examples/hello.json name=Ada    run a workflow file
  pflow examples/hello.json name=Ada        the same (`run` may be left out)
  pflow workflow save examples/hello.json hello
  pflow hello name=Ada --output-format json
  pflow registry list                       node types you can use

Run `pflow COMMAND --help` for the options of each command.

{EXIT_CODE_HELP}
"""


class PflowGroup(click.Group):
    """Root group: lazily loaded sub-commands, and `pflow WORKFLOW ...` meaning `pflow run`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = __import__(target[0], fromlist=[target[1]])
        command: click.Command = getattr(module, target[1])
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if _implicit_run(args):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        # click would swallow EPIPE and exit 1; the documented code is 141.
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            return ExitCode.BROKEN_PIPE


def _implicit_run(args: list[str]) -> bool:
    """Whether the words are a bare `pflow WORKFLOW ...` invocation (no sub-command)."""
    skip_next = False
    for index, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if arg == "--":
            return index + 1 < len(args)
        if arg in _ROOT_ONLY:
            return False
        if arg in _RUN_VALUE_OPTIONS:
            skip_next = True
            continue
        if arg.startswith("-"):
            continue
        return arg not in _COMMANDS
    return bool(args)


@click.group(
    cls=PflowGroup, help=ROOT_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, "--version", prog_name="pflow", message="%(prog)s %(version)s")
def cli() -> None:
    """Root command group."""


def run(argv: list[str] | None = None) -> None:
    """Run the program and exit with its documented exit code."""
    _quiet_libraries()
    _buffer_stdout()
    try:
        code: Any = cli.main(args=argv, prog_name="pflow", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        code = ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        code = ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except BrokenPipeError:
        code = ExitCode.BROKEN_PIPE
    code = int(code or 0)
    _flush_or_silence()
    sys.exit(code)


def _quiet_libraries() -> None:
    """Library log records and Python warnings never reach users unless asked for."""
    debug = os.environ.get("PFLOW_DEBUG", "").lower() in {"1", "true", "yes"}
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
        return
    # A root handler that drops everything: Python's last-resort handler never prints.
    logging.getLogger().addHandler(logging.NullHandler())
    if not sys.warnoptions:
        warnings.simplefilter("ignore")


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
            buffered, encoding=stream.encoding, errors=stream.errors, write_through=True
        )


def _flush_or_silence() -> None:
    """Flush stdout; if the reader went away, point stdout at /dev/null so exit stays quiet."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
