"""Unit tests of the golden normalisation contract (tests/golden/normalize.py).

Every rule is tested on what it must replace and, with adversarial strings, on what it must
leave alone or refuse (NormalizationError) rather than hide.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from normalize import (
    DURATION_DIGITS,
    DURATION_SLACK_MS,
    JSON_PATH_RULES,
    WINDOW_SLACK,
    NormalizationError,
    NormContext,
    normalize,
    normalize_json_text,
    replace_exact,
)

ROOT = "/tmp/pytest-of-me/pytest-7/test_case0/case"
CTX = NormContext(ROOT, port=8080, refused_port=41234)


def norm(text: str, ctx: NormContext = CTX, *, json_document: bool = False) -> str:
    return normalize(text.encode("utf-8"), ctx, json_document=json_document).decode("utf-8")


def doc(value: object) -> str:
    """A JSON document laid out as pflow prints it."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def norm_doc(value: object, window: tuple[datetime, datetime] | None = None) -> object:
    return json.loads(normalize_json_text(doc(value), window))


# ------------------------------------------------------------------------------ <TMP>


class TestTmpRoot:
    def test_replaced_inside_a_path(self) -> None:
        assert norm(f"Saved to {ROOT}/home/x.json\n") == "Saved to <TMP>/home/x.json\n"

    def test_replaced_when_the_whole_value(self) -> None:
        assert norm(f"'{ROOT}'") == "'<TMP>'"

    def test_every_occurrence(self) -> None:
        assert norm(f"{ROOT}/a {ROOT}/b") == "<TMP>/a <TMP>/b"

    @pytest.mark.parametrize("suffix", ["2/x", "-old/x", ".bak", "_x"])
    def test_root_as_prefix_of_a_longer_name_is_untouched(self, suffix: str) -> None:
        text = f"{ROOT}{suffix}"
        assert norm(text) == text

    def test_root_as_suffix_of_a_longer_path_is_untouched(self) -> None:
        text = f"/x{ROOT}/file"
        assert norm(text) == text

    def test_trailing_slash_in_the_context_is_ignored(self) -> None:
        ctx = NormContext(ROOT + "/")
        assert norm(f"{ROOT}/work", ctx) == "<TMP>/work"

    def test_resolved_form_is_replaced_too(self, tmp_path: Path) -> None:
        real = tmp_path / "real"
        real.mkdir()
        link = tmp_path / "link"
        link.symlink_to(real)
        ctx = NormContext(str(link))
        assert replace_exact(f"{real}/a and {link}/b", ctx) == "<TMP>/a and <TMP>/b"

    def test_empty_root_changes_nothing(self) -> None:
        assert replace_exact("/a/b", NormContext("")) == "/a/b"


# ------------------------------------------------------------------------------ <PORT>


class TestPorts:
    def test_port_after_loopback_address(self) -> None:
        assert norm("GET http://127.0.0.1:8080/json") == "GET http://127.0.0.1:<PORT>/json"

    def test_refused_port(self) -> None:
        assert norm("http://127.0.0.1:41234/x") == "http://127.0.0.1:<REFUSED_PORT>/x"

    def test_port_as_prefix_of_a_longer_number_is_untouched(self) -> None:
        assert norm("http://127.0.0.1:80801/") == "http://127.0.0.1:80801/"

    def test_port_as_suffix_of_a_longer_number_is_untouched(self) -> None:
        ctx = NormContext(ROOT, port=80)
        assert norm("http://127.0.0.1:8080/", ctx) == "http://127.0.0.1:8080/"

    def test_same_number_elsewhere_is_untouched(self) -> None:
        text = "size 8080, localhost:8080, 10.0.0.1:8080, 127.0.0.10:8080"
        assert norm(text) == text

    def test_end_of_text(self) -> None:
        assert norm("127.0.0.1:8080") == "127.0.0.1:<PORT>"

    def test_no_ports_known(self) -> None:
        assert norm("127.0.0.1:8080", NormContext(ROOT)) == "127.0.0.1:8080"


# ------------------------------------------------------------ <DURATION_MS>, <SECONDS>


class TestDurations:
    @pytest.mark.parametrize("value", [0.0, 12.0, 3.25, 0.01])
    def test_non_negative_floats(self, value: float) -> None:
        assert norm_doc({"duration_ms": value}) == {"duration_ms": "<DURATION_MS>"}

    @pytest.mark.parametrize("value", [-0.5, -1, 0, 12, "12", "fast", True, False, [1], {"ms": 1}])
    def test_anything_else_raises(self, value: object) -> None:
        with pytest.raises(NormalizationError, match="duration_ms"):
            normalize_json_text(doc({"duration_ms": value}))

    @pytest.mark.parametrize(
        ("document", "where"),
        [
            ({"duration_ms": 1.234}, "duration_ms"),
            ({"metrics": {"workflow": {"duration_ms": 0.125}}}, "metrics.workflow.duration_ms"),
            ({"metrics": {"workflow": {"node_timings": {"a": 2.0625}}}}, "node_timings.a"),
            ({"nodes": [{"duration_ms": 1.0001}]}, "nodes.*.duration_ms"),
        ],
    )
    def test_more_decimals_than_pflow_rounds_to_raises(self, document: object, where: str) -> None:
        with pytest.raises(NormalizationError, match="decimals") as raised:
            normalize_json_text(doc(document))
        assert where.split(".")[-1] in str(raised.value)

    def test_precision_of_each_path(self) -> None:
        assert DURATION_DIGITS["duration_ms"] == 2
        assert DURATION_DIGITS["metrics.workflow.node_timings.*"] == 3
        value = {"metrics": {"workflow": {"duration_ms": 1.25, "node_timings": {"a": 1.125}}}}
        assert norm_doc(value) == {
            "metrics": {
                "workflow": {"duration_ms": "<DURATION_MS>", "node_timings": {"a": "<DURATION_MS>"}}
            }
        }

    def test_longer_than_the_run_raises(self) -> None:
        window = (NOW, NOW + timedelta(milliseconds=400))
        assert norm_doc({"duration_ms": 300.5}, window) == {"duration_ms": "<DURATION_MS>"}
        limit = 400 + DURATION_SLACK_MS
        assert norm_doc({"duration_ms": limit}, window) == {"duration_ms": "<DURATION_MS>"}
        # 300 ms written in microseconds
        with pytest.raises(NormalizationError, match="longer than the run"):
            normalize_json_text(doc({"duration_ms": 300500.0}), window)

    def test_seconds_in_milliseconds_raise(self) -> None:
        window = (NOW, NOW + timedelta(milliseconds=400))
        value = {"result": {"get": {"response_time": 0.004}}}
        assert norm_doc(value, window) == {"result": {"get": {"response_time": "<SECONDS>"}}}
        with pytest.raises(NormalizationError, match="response_time"):
            normalize_json_text(doc({"result": {"get": {"response_time": 4.0}}}), window)

    def test_response_time_elsewhere_is_untouched(self) -> None:
        value = {"result": {"response_time": 0.5}, "metrics": {"get": {"response_time": 1.5}}}
        assert norm_doc(value) == value

    def test_null_is_kept(self) -> None:
        assert norm_doc({"duration_ms": None}) == {"duration_ms": None}

    def test_key_paths(self) -> None:
        value = {
            "metrics": {"workflow": {"duration_ms": 4.5, "node_timings": {"a": 1.0, "b": 2.5}}},
            "nodes": [{"duration_ms": 3.0}, {"duration_ms": 4.0}],
        }
        assert norm_doc(value) == {
            "metrics": {
                "workflow": {
                    "duration_ms": "<DURATION_MS>",
                    "node_timings": {"a": "<DURATION_MS>", "b": "<DURATION_MS>"},
                }
            },
            "nodes": [{"duration_ms": "<DURATION_MS>"}, {"duration_ms": "<DURATION_MS>"}],
        }

    def test_same_key_elsewhere_is_untouched(self) -> None:
        value = {"result": {"duration_ms": 5}, "metrics": {"total": {"duration_ms": 7}}}
        assert norm_doc(value) == value

    def test_negative_node_timing_raises(self) -> None:
        with pytest.raises(NormalizationError, match=r"node_timings\.a"):
            normalize_json_text(doc({"metrics": {"workflow": {"node_timings": {"a": -1.0}}}}))

    def test_response_time_seconds(self) -> None:
        value = {"result": {"get": {"response_time": 0.01, "status_code": 200}}}
        assert norm_doc(value) == {
            "result": {"get": {"response_time": "<SECONDS>", "status_code": 200}}
        }

    def test_response_time_in_trace(self) -> None:
        value = {"nodes": [{"shared_after": {"get": {"response_time": 0.2}}}]}
        assert norm_doc(value) == {
            "nodes": [{"shared_after": {"get": {"response_time": "<SECONDS>"}}}]
        }

    @pytest.mark.parametrize("value", [-0.01, "0.01"])
    def test_bad_response_time_raises(self, value: object) -> None:
        with pytest.raises(NormalizationError, match="response_time"):
            normalize_json_text(doc({"result": {"get": {"response_time": value}}}))


# ------------------------------------------------------------------------------ <ISO8601>


NOW = datetime(2026, 11, 26, 16, 0, 0, tzinfo=UTC)
WINDOW = (NOW, NOW + timedelta(seconds=3))


class TestTimestamps:
    def test_pflow_form_without_a_window(self) -> None:
        value = "2026-11-26T16:46:30.185428+00:00"
        assert norm_doc({"start_time": value}) == {"start_time": "<ISO8601>"}

    @pytest.mark.parametrize(
        "value",
        [
            "2026-11-26T16:46:30Z",
            "2026-11-26T16:46:30",
            "2026-11-26T16:46:30+00:00",
            "2026-11-26T16:46:30.185428",
            "2026-11-26T16:46:30.185+00:00",
            "2026-11-26T21:46:30.185428+05:00",
        ],
    )
    def test_other_iso_forms_raise(self, value: str) -> None:
        with pytest.raises(NormalizationError, match="UTC microsecond form"):
            normalize_json_text(doc({"start_time": value}))

    @pytest.mark.parametrize(
        "value",
        [
            "yesterday",
            "2026-11-26",
            "16:46:30",
            "2026-02-30T00:00:00",
            "2026-11-26T25:00:00",
            "T",
            20261126,
            True,
        ],
    )
    def test_not_a_date_time_raises(self, value: object) -> None:
        with pytest.raises(NormalizationError, match="created_at"):
            normalize_json_text(doc({"created_at": value}))

    def test_null_is_kept(self) -> None:
        assert norm_doc({"end_time": None}) == {"end_time": None}

    def test_inside_the_window(self) -> None:
        inside = (NOW + timedelta(seconds=1)).isoformat(timespec="microseconds")
        assert norm_doc({"updated_at": inside}, WINDOW) == {"updated_at": "<ISO8601>"}

    def test_slack_around_the_window(self) -> None:
        early = (NOW - WINDOW_SLACK + timedelta(milliseconds=1)).isoformat()
        late = (WINDOW[1] + WINDOW_SLACK).isoformat(timespec="microseconds")
        assert norm_doc({"created_at": early, "updated_at": late}, WINDOW) == {
            "created_at": "<ISO8601>",
            "updated_at": "<ISO8601>",
        }

    def test_outside_the_window_is_kept(self) -> None:
        fixture = "2001-02-03T04:05:06.000000+00:00"
        late = (WINDOW[1] + WINDOW_SLACK + timedelta(seconds=1)).isoformat()
        value = {"created_at": fixture, "updated_at": late}
        assert norm_doc(value, WINDOW) == value

    def test_naive_or_local_times_inside_the_window_raise(self) -> None:
        moment = NOW + timedelta(seconds=1)
        naive = moment.replace(tzinfo=None).isoformat(timespec="microseconds")
        with pytest.raises(NormalizationError, match="UTC microsecond form"):
            normalize_json_text(doc({"start_time": naive}), WINDOW)
        local = moment.astimezone(timezone(timedelta(hours=5))).isoformat(timespec="microseconds")
        with pytest.raises(NormalizationError, match="UTC microsecond form"):
            normalize_json_text(doc({"start_time": local}), WINDOW)

    def test_naive_times_count_as_utc_for_the_window(self) -> None:
        local = (NOW + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=5)))
        # the same wall-clock digits read as UTC are five hours away: a fixture, kept
        shifted = local.replace(tzinfo=None).isoformat()
        assert norm_doc({"start_time": shifted}, WINDOW) == {"start_time": shifted}

    def test_invalid_value_raises_even_with_a_window(self) -> None:
        with pytest.raises(NormalizationError):
            normalize_json_text(doc({"created_at": "2001-13-01T00:00:00"}), WINDOW)

    def test_key_paths(self) -> None:
        value = [
            {
                "name": "a",
                "created_at": "2026-01-01T00:00:00.000000+00:00",
                "rich_metadata": {"last_execution_timestamp": "2026-01-01T00:00:00.500000+00:00"},
            },
        ]
        assert norm_doc(value) == [
            {
                "name": "a",
                "created_at": "<ISO8601>",
                "rich_metadata": {"last_execution_timestamp": "<ISO8601>"},
            },
        ]

    def test_same_key_deeper_is_untouched(self) -> None:
        value = {"ir": {"nodes": [{"params": {"start_time": "not a time"}}]}}
        assert norm_doc(value) == value


# ------------------------------------------------------------------------------ <UUID>


class TestUuid:
    def test_uuid(self) -> None:
        value = {"execution_id": "85dcf49d-60a1-421b-be9f-6386ba894768"}
        assert norm_doc(value) == {"execution_id": "<UUID>"}

    @pytest.mark.parametrize(
        "value",
        [
            "85dcf49d-60a1-421b-be9f",
            "not-a-uuid",
            "",
            "85dcf49d60a1421bbe9f6386ba894768",  # hex form
            "85DCF49D-60A1-421B-BE9F-6386BA894768",  # upper case
            "{85dcf49d-60a1-421b-be9f-6386ba894768}",
            "85dcf49d-60a1-121b-be9f-6386ba894768",  # version 1
        ],
    )
    def test_not_a_canonical_uuid4_raises(self, value: str) -> None:
        with pytest.raises(NormalizationError, match="execution_id"):
            normalize_json_text(doc({"execution_id": value}))

    def test_execution_id_elsewhere_is_untouched(self) -> None:
        value = {"result": {"execution_id": "85dcf49d-60a1-421b-be9f-6386ba894768"}}
        assert norm_doc(value) == value


# ------------------------------------------------------------------------------ <ELAPSED>


class TestProgressElapsed:
    def test_time_within_the_run(self) -> None:
        ctx = NormContext(ROOT, run_window=(NOW, NOW + timedelta(milliseconds=900)))
        assert norm("  a... ✓ 0.9s\n", ctx) == "  a... ✓ <ELAPSED>s\n"

    def test_time_longer_than_the_run_raises(self) -> None:
        ctx = NormContext(ROOT, run_window=(NOW, NOW + timedelta(milliseconds=900)))
        with pytest.raises(NormalizationError, match="longer than the run"):
            norm("  a... ✓ 12.5s\n", ctx)  # 12.5 ms printed as seconds

    @pytest.mark.parametrize("end", ["\n", "\r\n", ""])
    def test_progress_line(self, end: str) -> None:
        assert norm(f"  greet... ✓ 0.0s{end}") == f"  greet... ✓ <ELAPSED>s{end}"

    def test_several_lines(self) -> None:
        text = "  a... ✓ 1.2s\n  b... ✓ 12.5s\n"
        assert norm(text) == "  a... ✓ <ELAPSED>s\n  b... ✓ <ELAPSED>s\n"

    @pytest.mark.parametrize(
        "text",
        [
            "✓ 0.0s\n",  # no space before the mark
            "x✓ 0.0s\n",
            " ✓ 0.0s total\n",  # not the end of the line
            " ✓ 0.05s\n",  # two decimals: not the progress shape
            " ✓ .5s\n",
            " ✓ 1s\n",
            " ✓ 0.0 s\n",
            " ✗ 0.0s\n",  # a failure mark carries a reason, never a time
            " ✓ -0.1s\n",
        ],
    )
    def test_other_shapes_untouched(self, text: str) -> None:
        assert norm(text) == text


# ------------------------------------------------------------------------------ <STAMP>


class TestTraceStamp:
    def test_stamp_in_a_trace_name(self) -> None:
        text = "Trace saved: /h/.pflow/debug/workflow-trace-hello-20261126-164630.json\n"
        assert norm(text) == "Trace saved: /h/.pflow/debug/workflow-trace-hello-<STAMP>.json\n"

    def test_name_with_digits_and_a_collision_suffix(self) -> None:
        text = "workflow-trace-v2-20260101-000000-3.json"
        assert norm(text) == "workflow-trace-v2-<STAMP>-3.json"

    def test_stamp_inside_the_run_window(self) -> None:
        ctx = NormContext(
            ROOT, run_window=(NOW + timedelta(microseconds=400), NOW + timedelta(seconds=1))
        )
        # the stamp is the run's start truncated to the second
        assert norm("workflow-trace-x-20261126-160000.json", ctx) == "workflow-trace-x-<STAMP>.json"

    def test_stamp_of_another_time_raises(self) -> None:
        ctx = NormContext(ROOT, run_window=WINDOW)
        with pytest.raises(NormalizationError, match="not the time of the run"):
            norm("workflow-trace-x-20261126-110000.json", ctx)  # local time of UTC+5

    def test_impossible_stamp_raises(self) -> None:
        with pytest.raises(NormalizationError, match="20261399-999999"):
            norm("workflow-trace-x-20261399-999999.json")

    @pytest.mark.parametrize(
        "text",
        [
            "workflow-trace-x-20261126-164630.txt",
            "trace-x-20261126-164630.json",
            "workflow-trace-x-2026112-164630.json",
            "20261126-164630",
        ],
    )
    def test_other_shapes_untouched(self, text: str) -> None:
        assert norm(text) == text


# ------------------------------------------------------------------------------ <FRAMES>


TRACEBACK = (
    "pflow: running 1 node(s)\n"
    "Traceback (most recent call last):\n"
    '  File "/work/src/pflow/cli/main.py", line 182, in execute_json_workflow\n'
    "    action = flow.run(shared)\n"
    "             ^^^^^^^^^^^^^^^^\n"
    '  File "/venv/pocketflow/__init__.py", line 16, in run\n'
    "    return self._run(shared)\n"
    "pflow.core.exceptions.NodeParamError: Node 's' (shell): bad\n"
    "Error: Node 's' (shell): bad\n"
    "  Node: s (shell)\n"
)


class TestFrames:
    def test_frames_replaced_header_and_exception_kept(self) -> None:
        assert norm(TRACEBACK) == (
            "pflow: running 1 node(s)\n"
            "Traceback (most recent call last):\n"
            "  <FRAMES>\n"
            "pflow.core.exceptions.NodeParamError: Node 's' (shell): bad\n"
            "Error: Node 's' (shell): bad\n"
            "  Node: s (shell)\n"
        )

    def test_chained_tracebacks(self) -> None:
        one = 'Traceback (most recent call last):\n  File "a", line 1\nKeyError: 1\n'
        text = (
            one + "\nThe above exception was the direct cause of the following exception:\n\n" + one
        )
        expected_one = "Traceback (most recent call last):\n  <FRAMES>\nKeyError: 1\n"
        assert norm(text) == (
            expected_one
            + "\nThe above exception was the direct cause of the following exception:\n\n"
            + expected_one
        )

    def test_crlf(self) -> None:
        text = 'Traceback (most recent call last):\r\n  File "a", line 1\r\n    x\r\nE: 1\r\n'
        assert norm(text) == "Traceback (most recent call last):\r\n  <FRAMES>\r\nE: 1\r\n"

    def test_header_without_a_frame_line_raises(self) -> None:
        with pytest.raises(NormalizationError, match="frame"):
            norm("Traceback (most recent call last):\n  not a frame\nE: 1\n")

    @pytest.mark.parametrize(
        "text",
        [
            'Error: Traceback (most recent call last):\n  File "a", line 1\n',  # not line start
            "Traceback (most recent call last):\nE: no frames at all\n",
            '  File "a", line 1\n    x\n',  # frames without a header
        ],
    )
    def test_other_shapes_untouched(self, text: str) -> None:
        assert norm(text) == text


# ------------------------------------------------------------------------------ relations


class TestRelations:
    def test_consistent_document(self) -> None:
        value = {
            "duration_ms": 9.5,
            "metrics": {"workflow": {"duration_ms": 9.0, "node_timings": {"a": 8.999}}},
        }
        assert json.loads(normalize_json_text(doc(value)))["duration_ms"] == "<DURATION_MS>"

    def test_rounding_is_allowed(self) -> None:
        value = {"metrics": {"workflow": {"duration_ms": 9.0, "node_timings": {"a": 9.004}}}}
        assert norm_doc(value)

    def test_workflow_longer_than_the_run_raises(self) -> None:
        value = {"duration_ms": 5.0, "metrics": {"workflow": {"duration_ms": 9.0}}}
        with pytest.raises(NormalizationError, match=r"metrics\.workflow\.duration_ms"):
            normalize_json_text(doc(value))

    def test_node_longer_than_the_workflow_raises(self) -> None:
        value = {"metrics": {"workflow": {"duration_ms": 2.0, "node_timings": {"a": 3.5}}}}
        with pytest.raises(NormalizationError, match=r"node_timings\.a"):
            normalize_json_text(doc(value))

    def test_trace_node_longer_than_the_trace_raises(self) -> None:
        value = {"duration_ms": 2.0, "nodes": [{"duration_ms": 1.5}, {"duration_ms": 2.5}]}
        with pytest.raises(NormalizationError, match=r"nodes\.1\.duration_ms"):
            normalize_json_text(doc(value))

    @pytest.mark.parametrize(
        ("first", "second"), [("start_time", "end_time"), ("created_at", "updated_at")]
    )
    def test_times_out_of_order_raise(self, first: str, second: str) -> None:
        value = {
            first: "2026-11-26T16:00:02.000000+00:00",
            second: "2026-11-26T16:00:01.000000+00:00",
        }
        with pytest.raises(NormalizationError, match=first):
            normalize_json_text(doc(value))

    def test_unrelated_documents_are_left_to_the_rules(self) -> None:
        value = {"result": {"duration_ms": 99.0}, "metrics": {"total": {"cost_usd": 0.5}}}
        assert norm_doc(value) == value


# ------------------------------------------------------------------------------ JSON layout


class TestJsonDocuments:
    def test_layout_and_key_order_kept(self) -> None:
        value = {"z": 1, "duration_ms": 2.5, "a": ["é", None, {"k": True}], "m": {}}
        text = doc(value) + "\n"
        out = normalize_json_text(text)
        assert out == doc({**value, "duration_ms": "<DURATION_MS>"}) + "\n"
        assert list(json.loads(out)) == ["z", "duration_ms", "a", "m"]
        assert "é" in out

    @pytest.mark.parametrize("trailer", ["", "\n", "\n\n"])
    def test_trailing_newlines_kept(self, trailer: str) -> None:
        text = doc({"duration_ms": 1.0}) + trailer
        assert normalize_json_text(text) == doc({"duration_ms": "<DURATION_MS>"}) + trailer

    @pytest.mark.parametrize(
        "text",
        [
            '{"duration_ms":5}',  # compact without spaces: not pflow's layout
            '[{"duration_ms": 5}]',  # one line, but not an object (records are objects)
            '{\n    "duration_ms": 5\n}',  # 4-space indent
            '{\n  "duration_ms": 5,\n}',  # not JSON
            '{\n  "name": "\\u00e9",\n  "duration_ms": 5\n}',  # ASCII-escaped
            '{\n  "a": 1,\n  "a": 2,\n  "duration_ms": 5\n}',  # duplicate key
            "",
            "Workflow executed successfully\n",
        ],
    )
    def test_documents_that_do_not_round_trip_stay_unchanged(self, text: str) -> None:
        assert normalize_json_text(text) == text

    def test_one_line_objects_are_normalised_in_their_layout(self) -> None:
        # record.json and journal lines: one line, json.dumps spacing, trailing newline.
        text = '{"duration_ms": 5.25, "fingerprint": "sha256:ab", "started_at": null}\n'
        assert normalize_json_text(text) == (
            '{"duration_ms": "<DURATION_MS>", "fingerprint": "sha256:ab", "started_at": null}\n'
        )

    def test_round_tripping_document_with_a_bad_value_raises(self) -> None:
        with pytest.raises(NormalizationError):
            normalize_json_text(doc({"duration_ms": -3}))

    def test_crlf_document(self) -> None:
        text = doc({"success": True, "duration_ms": 4.0}).replace("\n", "\r\n") + "\r\n"
        expected = doc({"success": True, "duration_ms": "<DURATION_MS>"}).replace("\n", "\r\n")
        assert normalize_json_text(text) == expected + "\r\n"

    def test_mixed_line_endings_stay_unchanged(self) -> None:
        text = '{\r\n  "duration_ms": 4\n}'
        assert normalize_json_text(text) == text

    def test_not_a_json_document_when_not_asked(self) -> None:
        text = doc({"duration_ms": 4})
        assert norm(text) == text

    def test_full_pipeline_on_a_json_document(self) -> None:
        value = {
            "success": False,
            "error": {
                "message": "GET http://127.0.0.1:8080/x failed",
                "path": f"{ROOT}/work/a.json",
            },
            "duration_ms": 40.5,
        }
        assert json.loads(norm(doc(value), json_document=True)) == {
            "success": False,
            "error": {
                "message": "GET http://127.0.0.1:<PORT>/x failed",
                "path": "<TMP>/work/a.json",
            },
            "duration_ms": "<DURATION_MS>",
        }

    def test_every_rule_placeholder_is_known(self) -> None:
        assert {p for _, p in JSON_PATH_RULES} == {
            "<DURATION_MS>",
            "<SECONDS>",
            "<ISO8601>",
            "<UUID>",
        }


# ------------------------------------------------------------------------------ bytes


def test_bytes_that_are_not_utf8_pass_through() -> None:
    data = b"\xff\xfe raw \x80 " + ROOT.encode() + b"/x\n"
    assert normalize(data, CTX) == b"\xff\xfe raw \x80 <TMP>/x\n"


def test_text_without_volatile_values_is_byte_identical() -> None:
    data = "Hello, Zoë 🌍!\r\n\x00tab\there\n".encode()
    assert normalize(data, CTX) == data
    assert normalize(data, CTX, json_document=True) == data


# ----------------------------------------------------------------------------- <RUN_ID>


class TestRunId:
    def test_id_of_a_run_inside_the_window(self) -> None:
        ctx = NormContext(ROOT, run_window=(NOW, NOW + timedelta(seconds=1)))
        stamp = NOW.strftime("%Y%m%dT%H%M%S")
        text = f"runs/{stamp}Z-3f9a2c/record.json\n"
        assert norm(text, ctx) == "runs/<RUN_ID>/record.json\n"

    def test_fixed_id_of_a_fixture_stays(self) -> None:
        ctx = NormContext(ROOT, run_window=WINDOW)
        assert norm("20200101T000000Z-abcdef  failed", ctx) == "20200101T000000Z-abcdef  failed"

    def test_only_whole_ids(self) -> None:
        ctx = NormContext(ROOT, run_window=(NOW, NOW + timedelta(seconds=1)))
        stamp = NOW.strftime("%Y%m%dT%H%M%S")
        assert norm(f"x{stamp}Z-3f9a2c1", ctx) == f"x{stamp}Z-3f9a2c1"

    def test_impossible_time_raises(self) -> None:
        with pytest.raises(NormalizationError, match="not a run id"):
            norm("20261399T999999Z-abcdef")
