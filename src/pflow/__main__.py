"""`python -m pflow` runs the command-line program."""

from pflow.cli.app import run

if __name__ == "__main__":
    run()
