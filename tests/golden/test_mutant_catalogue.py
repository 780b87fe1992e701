"""The mutant catalogue (golden/mutants/) is well formed and current, and the pure parts of
the mutation runner and of the snapshot review behave as documented."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from mutation import (
    DEFAULT_INDEX,
    FAST_COUNT,
    Mutant,
    Outcome,
    choose_fast,
    killer_of,
    merge_last,
    parse_equivalent,
    parse_index,
    rank_cases,
    summarize,
)
from review import GONE, NEW, accept, clear_pending, main, pending, write_pending

REPO = Path(__file__).resolve().parents[2]
MUTANTS = DEFAULT_INDEX.parent
INDEX = parse_index(DEFAULT_INDEX.read_text(encoding="utf-8"), MUTANTS)
LAYERS = ("cli", "core", "runtime", "nodes", "foundation")


def _changed_lines(patch: Path) -> tuple[list[str], list[str]]:
    lines = patch.read_text(encoding="utf-8").splitlines()
    body = [x for x in lines if not x.startswith(("+++", "---"))]
    return [x for x in body if x.startswith("-")], [x for x in body if x.startswith("+")]


def test_the_catalogue_is_large_and_spread_over_every_layer() -> None:
    assert len(INDEX) >= 60
    layers = {m.patch.relative_to(MUTANTS).parts[0] for m in INDEX}
    assert layers == set(LAYERS)
    assert len({m.category for m in INDEX}) >= 10


def test_every_patch_file_is_indexed_once() -> None:
    on_disk = {p.relative_to(MUTANTS) for p in MUTANTS.rglob("*.patch")}
    indexed = [m.patch.relative_to(MUTANTS) for m in INDEX]
    assert sorted(indexed) == sorted(on_disk)
    assert len(set(indexed)) == len(indexed)


@pytest.mark.parametrize("mutant", INDEX, ids=[m.id for m in INDEX])
def test_each_patch_is_small_touches_src_and_applies_to_this_tree(mutant: Mutant) -> None:
    assert mutant.patch.stem == mutant.id, "a patch file is named after its mutant id"
    text = mutant.patch.read_text(encoding="utf-8")
    targets = [x[6:] for x in text.splitlines() if x.startswith("+++ b/")]
    assert targets and all(t.startswith("src/pflow/") for t in targets), targets
    removed, added = _changed_lines(mutant.patch)
    assert 1 <= max(len(removed), len(added)) <= 5, "a mutant changes 1 to 5 lines"
    assert mutant.sees.strip() and mutant.category.strip()
    check = subprocess.run(
        ["git", "apply", "--check", str(mutant.patch)], cwd=REPO, capture_output=True, text=True
    )
    assert check.returncode == 0, f"{mutant.id} no longer applies: {check.stderr}"


def test_equivalent_entries_name_catalogued_mutants_with_a_reason() -> None:
    equivalent = parse_equivalent((MUTANTS / "EQUIVALENT.md").read_text(encoding="utf-8"))
    ids = {m.id for m in INDEX}
    for mutant_id, reason in equivalent.items():
        assert mutant_id in ids, f"EQUIVALENT.md lists {mutant_id}, which is not in index.toml"
        assert len(reason) > 40, f"{mutant_id}: say why no user can see the change"


def test_the_fast_subset_is_marked_and_ci_sized() -> None:
    fast = choose_fast(INDEX)
    assert 1 <= len(fast) <= FAST_COUNT + 2
    assert all(m.fast for m in fast)


def test_golden_changed_lists_known_cases_with_a_commit_and_reason() -> None:
    cases = {p.name for p in (REPO / "golden" / "cases").iterdir() if p.is_dir()}
    for line in (REPO / "golden" / "CHANGED").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        case_id, commit, reason = [*line.split(maxsplit=2), "", ""][:3]
        assert case_id in cases, line
        assert len(commit) >= 7 and all(c in "0123456789abcdef" for c in commit), line
        assert reason.strip(), line


# --- the runner's pure parts ----------------------------------------------------------------


def _m(mutant_id: str, category: str = "c", fast: bool = False) -> Mutant:
    return Mutant(mutant_id, Path(f"{mutant_id}.patch"), category, "sees", fast)


def test_parse_index_rejects_missing_keys_and_duplicate_ids() -> None:
    entry = '[[mutant]]\nid = "a"\npatch = "a.patch"\ncategory = "c"\nsees = "s"\n'
    assert [m.id for m in parse_index(entry, Path("/x"))] == ["a"]
    assert parse_index(entry, Path("/x"))[0].patch == Path("/x/a.patch")
    with pytest.raises(ValueError, match="duplicate"):
        parse_index(entry + entry, Path("/x"))
    with pytest.raises(ValueError, match="lacks"):
        parse_index('[[mutant]]\nid = "b"\npatch = "b.patch"\n', Path("/x"))
    assert tomllib.loads(DEFAULT_INDEX.read_text(encoding="utf-8"))["mutant"]


def test_parse_equivalent_reads_headings_and_their_text() -> None:
    text = "# title\nintro\n## one\nreason one\nmore\n## two extra words\nreason two\n"
    assert parse_equivalent(text) == {"one": "reason one\nmore", "two": "reason two"}
    assert parse_equivalent("# only a title\n") == {}


def test_choose_fast_prefers_marked_entries_else_one_per_category() -> None:
    marked = [_m("a"), _m("b", fast=True), _m("c", fast=True)]
    assert [m.id for m in choose_fast(marked)] == ["b", "c"]
    many = [_m(f"m{i}", f"cat{i % 12}") for i in range(30)]
    chosen = choose_fast(many)
    assert len(chosen) == FAST_COUNT and len({m.category for m in chosen}) == FAST_COUNT


def test_rank_cases_puts_the_last_killer_first_then_related_cases() -> None:
    cases = ["alpha", "json-x", "stdin-empty", "zeta"]
    last = {"stdin-a": {"killer": "zeta", "category": "stdin"}}
    assert rank_cases(_m("stdin-a", "stdin"), cases, last)[0] == "zeta"
    ranked = rank_cases(_m("stdin-b", "stdin"), cases, last)
    assert ranked[:2] == ["zeta", "stdin-empty"]  # same category's killer, then shared words
    assert sorted(ranked) == sorted(cases)
    assert rank_cases(_m("other", "misc"), cases, {}) == ["alpha", "json-x", "stdin-empty", "zeta"]


def test_killer_of_reads_the_first_failed_case() -> None:
    out = (
        "FAILED tests/golden/test_golden.py::test_golden_case[run-unicode] - Assert\n"
        "FAILED tests/golden/test_golden.py::test_golden_case[other] - x\n"
    )
    assert killer_of(out) == "run-unicode"
    assert killer_of("1 passed\n") == ""


def test_summarize_counts_equivalents_against_the_rate_and_flags_problems() -> None:
    killed = [Outcome(_m(f"k{i}"), "killed", "case") for i in range(19)]
    excused = Outcome(_m("eq"), "survived")
    verdict = summarize([*killed, excused], {"eq": "why"})
    assert verdict.ok and "rate 95.0%" in verdict.lines[0]
    assert not summarize([*killed[:18], excused], {"eq": "why"}).ok  # 18/19 < 95 %
    assert not summarize([*killed, Outcome(_m("s"), "survived")], {}).ok  # unlisted survivor
    stale = summarize([*killed, Outcome(_m("eq"), "killed", "c")], {"eq": "why"})
    assert not stale.ok and any(line.startswith("STALE") for line in stale.lines)
    broken = summarize([*killed, Outcome(_m("p"), "failure", detail="no apply")], {})
    assert not broken.ok and any(line.startswith("FAILURE") for line in broken.lines)


def test_merge_last_keeps_killers_and_forgets_survivors() -> None:
    last = {"a": {"killer": "old", "category": "c"}, "b": {"killer": "x", "category": "c"}}
    merged = merge_last(last, [Outcome(_m("a"), "killed", "new"), Outcome(_m("b"), "survived")])
    assert merged == {"a": {"killer": "new", "category": "c"}}


# --- the review of pending snapshot changes -------------------------------------------------


def test_pending_files_are_written_listed_accepted_and_cleared(tmp_path: Path) -> None:
    folder = tmp_path / "case-a"
    folder.mkdir()
    (folder / "stdout").write_bytes(b"old\n")
    (folder / "file-x").write_bytes(b"x")
    (folder / "stderr").write_bytes(b"same")
    write_pending(folder, {"stdout": b"old\n", "file-x": b"x", "stderr": b"same"},
                  {"stdout": b"new\n", "stderr": b"same"})  # fmt: skip
    assert sorted(p.name for p in pending(tmp_path)["case-a"]) == ["file-x" + GONE, "stdout" + NEW]
    assert sorted(accept(folder)) == ["file-x", "stdout"]
    assert (folder / "stdout").read_bytes() == b"new\n" and not (folder / "file-x").exists()
    assert pending(tmp_path) == {}
    write_pending(folder, {"stdout": b"new\n"}, {"stdout": b"newer\n"})
    clear_pending(folder)
    assert pending(tmp_path) == {} and (folder / "stdout").read_bytes() == b"new\n"


def test_review_refuses_with_ci_and_unknown_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    assert main([], tmp_path) == 2
    monkeypatch.delenv("CI")
    assert main(["--accept", "nope"], tmp_path) == 1
    assert main([], tmp_path) == 0 and "no pending" in capsys.readouterr().out
