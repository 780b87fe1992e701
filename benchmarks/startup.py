"""Start-up time of the pflow command, against two floors measured in the same run.

Measures the median wall time of:

- `python -c pass`: starting the interpreter at all;
- the floor `python -c "import click, jsonschema"`: what any click + jsonschema CLI pays;
- `pflow --version`, goal at most 1.5x `python -c pass`;
- `pflow --help`;
- `pflow run hello.json`, a one-node shell workflow (`echo hello`), goal at most 1.25x the
  click + jsonschema floor,

each run as a subprocess with standard input from /dev/null, in a temporary directory with a
temporary PFLOW_HOME. The commands take turns (one run of each, then the next round), so a
busy machine slows them alike. The console script is the one next to the running
interpreter, so run this with the Python of the environment you want to measure. Prints
figures only; it never asserts and always exits 0.

Usage: python benchmarks/startup.py [--runs N] [--warmup N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELLO = {
    "ir_version": "0.1.0",
    "nodes": [{"id": "hello", "type": "shell", "params": {"command": "echo hello"}}],
}


def time_ms(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall time in milliseconds of one run of `argv`, and its exit code."""
    started = time.perf_counter()
    completed = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return (time.perf_counter() - started) * 1000.0, completed.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs per command")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs first")
    args = parser.parse_args()

    pflow = Path(sys.executable).parent / "pflow"
    if not pflow.is_file():
        print(f"no pflow console script next to {sys.executable}; install pflow first")
        return

    with tempfile.TemporaryDirectory(prefix="pflow-startup-") as tmp:
        workdir = Path(tmp)
        (workdir / "hello.json").write_text(json.dumps(HELLO) + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PFLOW_")}
        env["PFLOW_HOME"] = str(workdir / "home")
        pass_label = "python -c pass"
        floor_label = "floor: python -c 'import click, jsonschema'"
        # label, argv, (reference label, goal ratio) or None
        commands: list[tuple[str, list[str], tuple[str, float] | None]] = [
            (pass_label, [sys.executable, "-c", "pass"], None),
            (floor_label, [sys.executable, "-c", "import click, jsonschema"], None),
            ("pflow --version", [str(pflow), "--version"], (pass_label, 1.5)),
            ("pflow --help", [str(pflow), "--help"], None),
            (
                "pflow run hello.json (one shell node)",
                [str(pflow), "run", "hello.json"],
                (floor_label, 1.25),
            ),
        ]
        times: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        failures: dict[str, int] = dict.fromkeys(times, 0)
        for round_ in range(args.warmup + args.runs):
            for label, argv, _ in commands:
                ms, code = time_ms(argv, cwd=workdir, env=env)
                failures[label] += code != 0
                if round_ >= args.warmup:
                    times[label].append(ms)
        medians = {label: statistics.median(values) for label, values in times.items()}

        print(f"python {sys.version.split()[0]} at {sys.executable}")
        print(f"median of {args.runs} rounds after {args.warmup} warm-up rounds, stdin /dev/null")
        print()
        print(f"{'command':<44} {'median ms':>10} {'x pass':>7} {'x floor':>8}")
        for label, _, goal in commands:
            ms = medians[label]
            line = (
                f"{label:<44} {ms:>10.1f} {ms / medians[pass_label]:>7.2f}"
                f" {ms / medians[floor_label]:>8.2f}"
            )
            if goal is not None:
                reference, limit = goal
                ratio = ms / medians[reference]
                verdict = "ok" if ratio <= limit else "OVER"
                line += f"  goal <= {limit}x {reference.split(': ')[-1]} ({verdict})"
            if failures[label]:
                line += f"  note: exited non-zero {failures[label]} time(s)"
            print(line)


if __name__ == "__main__":
    main()
