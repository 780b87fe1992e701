"""Command-line interface: the only package that imports click.

The program's entry point is `pflow.cli.app:run`; `pflow.cli.run` is the `run` command,
which parses the command line and renders what `pflow.core.run_pipeline` did.
"""
