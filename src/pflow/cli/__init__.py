"""Command-line interface: the only package that imports click.

The program's entry point is `pflow.cli.app:run`; `pflow.cli.main` is the `run` command and
its execution logic.
"""
