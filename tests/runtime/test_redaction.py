"""Secrets kept out of what pflow stores: keys at any depth, values inside free text."""

from __future__ import annotations

from pflow.runtime.redaction import (
    MIN_SCRUBBED_CHARS,
    REDACTED,
    is_secret_name,
    redact,
    scrub,
    scrub_all,
    secret_values,
)


def test_secret_names_follow_the_schema_pattern():
    for name in ("token", "API_KEY", "api-key", "password", "passwd", "auth", "client_secret"):
        assert is_secret_name(name), name
    for name in ("user", "count", "stdout"):
        assert not is_secret_name(name), name


def test_redact_replaces_secret_keys_at_any_depth_and_keeps_the_rest():
    value = {"user": "ada", "cfg": {"auth": {"key": "k1"}, "list": [{"token": "t"}, 3]}}
    assert redact(value) == {
        "user": "ada",
        "cfg": {"auth": REDACTED, "list": [{"token": REDACTED}, 3]},
    }
    assert value["cfg"]["auth"] == {"key": "k1"}  # a copy: the input is untouched


def test_secret_values_collect_leaves_under_secret_keys_longest_first():
    params = {"password": "hunter22", "cfg": {"auth": {"key": "k-998877", "n": 123456}}}
    assert secret_values(params) == ["hunter22", "k-998877", "123456"]
    assert secret_values({"token": "x" * (MIN_SCRUBBED_CHARS - 1), "ok": "long-value"}) == []
    assert secret_values({"token": None, "secret": True}) == []


def test_scrub_replaces_every_occurrence_longest_first():
    assert scrub("a hunter22 b hunter22", ["hunter22"]) == f"a {REDACTED} b {REDACTED}"
    assert scrub("abcdef", ["abcdef", "abcd"]) == REDACTED
    assert scrub_all({"m": ["x hunter22"], "hunter22": 1}, ["hunter22"]) == {
        "m": [f"x {REDACTED}"],
        REDACTED: 1,
    }
    assert scrub_all({"m": "keep"}, []) == {"m": "keep"}
