"""The command-line options `pflow run` and `pflow resume` share."""

from __future__ import annotations

from typing import Any

import click


def run_options(json_help: str, keep_going: Any) -> Any:
    """A decorator adding -o, --output-format (help `json_help`), -p, --trace, -v and the
    `keep_going` option, in that order (the order `--help` lists them in)."""
    options = [
        click.option(
            "-o", "--output-key", metavar="KEY", help="Print this result key (e.g. node.stdout)."
        ),
        click.option(
            "--output-format",
            type=click.Choice(["text", "json"], case_sensitive=False),
            default="text",
            show_default=True,
            help=json_help,
        ),
        click.option(
            "-p", "--print", "print_flag", is_flag=True, help="Never show progress or prompts."
        ),
        click.option(
            "--trace", is_flag=True, help="Save an execution trace under ~/.pflow/debug/."
        ),
        click.option(
            "-v", "--verbose", is_flag=True, help="Explain each step; tracebacks on errors."
        ),
        keep_going,
    ]

    def apply(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return apply
