"""`python -m pflow` runs the command-line program."""

from pflow.cli import main

if __name__ == "__main__":
    main()
