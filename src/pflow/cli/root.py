"""The root command group: sub-commands loaded when used, and `pflow WORKFLOW` meaning `pflow run`.

Imported only when a command runs: `pflow --version` is answered by `pflow.cli.app` without
importing click.
"""

from __future__ import annotations

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
    "run": ("pflow.cli.run", "run_command"),
    "workflow": ("pflow.cli.workflow_commands", "workflow_group"),
    "registry": ("pflow.cli.registry_commands", "registry_group"),
    "validate": ("pflow.cli.validate", "validate_command"),
    "resume": ("pflow.cli.resume", "resume_command"),
    "runs": ("pflow.cli.runs", "runs_group"),
}
COMMAND_NAMES = tuple(_COMMANDS)
# Commands left out of the root --help list, whose text is a recorded promise (golden/);
# docs/cli.md describes them and `pflow COMMAND --help` works as for any other.
_UNLISTED = frozenset({"validate", "resume", "runs"})

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
        return [name for name in _COMMANDS if name not in _UNLISTED]

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
