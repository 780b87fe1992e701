"""JSON as pflow writes and reads it: always valid UTF-8, and nesting bounded."""

from __future__ import annotations

import json

import pytest

from pflow.foundation.exceptions import PflowError, TemplateValidationError
from pflow.foundation.json_safe import MAX_NESTING, NestingError, dumps_utf8, loads_json, too_deep


@pytest.mark.parametrize("text", ["\ud800", "a\udc80b", "\udfff\ud800", "é ✓ 😀"])
def test_dumps_utf8_always_encodes_and_round_trips(text):
    out = dumps_utf8({text: [text]})
    out.encode("utf-8")  # never raises
    assert json.loads(out) == {text: [text]}
    assert "é" in dumps_utf8("é")  # readable text stays readable


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_limit_is_inclusive():
    assert loads_json(_nested(MAX_NESTING)) is not None
    with pytest.raises(NestingError) as caught:
        loads_json(_nested(MAX_NESTING + 1))
    assert caught.value.pointer == "/0" * MAX_NESTING
    assert f"more than {MAX_NESTING} levels" in str(caught.value)


def test_text_deeper_than_python_can_parse_is_a_nesting_error():
    with pytest.raises(NestingError) as caught:
        loads_json(_nested(100_000))
    assert caught.value.pointer is None


def test_too_deep_points_at_the_first_level_too_deep():
    assert too_deep({"a": [{"b~/c": []}]}, 3) == "/a/0/b~0~1c"
    assert too_deep({"a": [{"b": 1}]}, 3) is None
    assert too_deep("text", 0) is None


def _problem(message: str) -> PflowError:
    return PflowError(message)


def test_template_errors_are_counted_and_listed_at_most_twenty():
    one = TemplateValidationError([_problem("p")], [3])
    assert one.message == "p (3 times)"
    many = TemplateValidationError([_problem(f"p{i}") for i in range(25)], [2] + [1] * 24)
    lines = many.message.splitlines()
    assert lines[0] == "26 template problems:"
    assert lines[1] == "  - p0 (2 times)"
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "  - and 5 more"
    assert TemplateValidationError([_problem("a"), _problem("b")]).message.count("times") == 0
