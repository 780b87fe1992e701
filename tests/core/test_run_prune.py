"""Retention of run records: `prune` keeps the newest runs, oldest first by start second and,
within one second, by when the journal was last written."""

from __future__ import annotations

import os
from pathlib import Path

from pflow.core.run_records import JOURNAL, prune


def _run(root: Path, name: str, written_ns: int | None) -> None:
    folder = root / name
    folder.mkdir()
    if written_ns is not None:
        (folder / JOURNAL).write_text("{}\n", encoding="utf-8")
        os.utime(folder / JOURNAL, ns=(written_ns, written_ns))


def _left(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()}


def test_the_newest_runs_stay_and_ties_in_a_second_go_by_journal_time(tmp_path: Path) -> None:
    _run(tmp_path, "20261201T100000Z-ffffff", 5)  # oldest second
    _run(tmp_path, "20261201T100001Z-aaaaaa", 30)  # the cut falls in this second: by time
    _run(tmp_path, "20261201T100001Z-bbbbbb", 10)
    _run(tmp_path, "20261201T100001Z-cccccc", None)  # no journal: counts as oldest
    _run(tmp_path, "20261201T100002Z-000000", 1)  # newest second, however old its journal
    (tmp_path / "notes").mkdir()  # not a run: never touched
    (tmp_path / "20261201T100000Z-eeeeee").write_text("a file, not a run", encoding="utf-8")
    prune(tmp_path, 2)
    assert _left(tmp_path) == {
        "20261201T100001Z-aaaaaa",
        "20261201T100002Z-000000",
        "notes",
        "20261201T100000Z-eeeeee",
    }


def test_the_spared_run_stays_and_nothing_goes_while_few_runs_are_kept(tmp_path: Path) -> None:
    _run(tmp_path, "20261201T100000Z-111111", 1)
    _run(tmp_path, "20261201T100005Z-222222", 2)
    prune(tmp_path, 2)
    assert len(_left(tmp_path)) == 2
    # The spared run is the oldest: it stays, and the newer run is not removed in its place.
    prune(tmp_path, 1, spare="20261201T100000Z-111111")
    assert len(_left(tmp_path)) == 2
    prune(tmp_path, 1)
    assert _left(tmp_path) == {"20261201T100005Z-222222"}
