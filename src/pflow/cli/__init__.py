"""Command-line interface: the only package that imports click."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    from pflow.cli.app import run

    run()
