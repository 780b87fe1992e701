"""Suite-wide pytest set-up: how `pytest -n N` shares the tests among its workers.

With `-n N` alone pytest-xdist uses `--dist load`, which hands the workers large slices of the
collection in order; the ~400 golden cases, each a subprocess, then tend to land on one worker
while the other goes idle for half the run. Work stealing splits the suite evenly and lets an
idle worker take half of what another has left, so every worker stays busy to the end. An
explicit `--dist` on the command line (or in PYTEST_ADDOPTS) is left alone.
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from xdist.remote import Producer
    from xdist.scheduler.protocol import Scheduling


def _dist_given(config: pytest.Config) -> bool:
    args = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    return any(arg == "--dist" or str(arg).startswith("--dist=") for arg in args)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> Scheduling | None:
    if config.getvalue("dist") != "load" or _dist_given(config):
        return None  # xdist's own choice
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)
