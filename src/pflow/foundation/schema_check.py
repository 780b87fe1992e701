"""A quick yes to "is this document valid?", so valid documents never pay for jsonschema.

Importing jsonschema and building a validator costs more than the rest of a one-node run.
Almost every document pflow checks is valid, so `certainly_valid` first walks the schema
itself with a small interpreter of the keywords pflow's schemas use. It answers True only
when the document is valid; False means "invalid, or not sure" (a keyword it does not know,
a `format` it cannot decide), and the caller then asks jsonschema, which also words the
error. So a False here can cost time, never correctness; a wrong True would be a bug, and
tests/foundation/test_schema_check.py compares it with jsonschema on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

# Keywords that never change whether a document is valid.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
)


def certainly_valid(
    schema: Mapping[str, Any], instance: Any, by_id: Callable[[str], Mapping[str, Any] | None]
) -> bool:
    """True when `instance` is valid against `schema` (draft 2020-12 subset); see module doc.

    `by_id` returns the schema with a given `$id`, for references between schemas.
    """
    try:
        return _Checker(by_id).valid(schema, instance, schema)
    except (_Unsure, RecursionError):
        return False


class _Unsure(Exception):
    """The schema uses something this checker does not decide."""


class _Checker:
    def __init__(self, by_id: Callable[[str], Mapping[str, Any] | None]) -> None:
        self._by_id = by_id

    def valid(self, schema: Any, instance: Any, root: Mapping[str, Any]) -> bool:
        if schema is True or schema == {}:
            return True
        if schema is False:
            return False
        if not isinstance(schema, Mapping) or ("$id" in schema and schema is not root):
            raise _Unsure  # an embedded $id would change what references resolve against
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            check = _KEYWORDS.get(keyword)
            if check is None:
                raise _Unsure
            if not check(self, value, instance, schema, root):
                return False
        return True

    def ref(self, ref: str, instance: Any, root: Mapping[str, Any]) -> bool:
        base, _, fragment = ref.partition("#")
        target = root if base == "" else self._by_id(base)
        if target is None:
            raise _Unsure
        new_root = target
        for token in fragment.split("/")[1:] if fragment else []:
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or token not in target:
                raise _Unsure
            target = target[token]
        return self.valid(target, instance, new_root)


def _is_type(name: str, value: Any) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, int | float)
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise _Unsure


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, containers compare element by element."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


def _format(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    if not isinstance(instance, str):
        return True
    if value != "date-time" or not _RFC3339.match(instance):
        raise _Unsure
    try:
        datetime.fromisoformat(instance.upper())
    except ValueError:
        raise _Unsure from None
    return True


def _type(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    return any(_is_type(n, instance) for n in names)


def _properties(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(c.valid(value[k], v, root) for k, v in instance.items() if k in value)


def _pattern_properties(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(
        c.valid(sub, v, root)
        for pattern, sub in value.items()
        for k, v in instance.items()
        if _regex(pattern).search(k)
    )


def _additional(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    named = schema.get("properties", {})
    patterns = [_regex(p) for p in schema.get("patternProperties", {})]
    return all(
        c.valid(value, v, root)
        for k, v in instance.items()
        if k not in named and not any(p.search(k) for p in patterns)
    )


def _required(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not isinstance(instance, dict) or all(k in instance for k in value)


def _items(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    if "prefixItems" in schema:
        raise _Unsure
    return not isinstance(instance, list) or all(c.valid(value, v, root) for v in instance)


def _min_items(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not isinstance(instance, list) or len(instance) >= value


def _max_items(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not isinstance(instance, list) or len(instance) <= value


def _min_length(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not isinstance(instance, str) or len(instance) >= value


def _max_length(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not isinstance(instance, str) or len(instance) <= value


def _pattern(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not isinstance(instance, str) or _regex(value).search(instance) is not None


def _minimum(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not _number(instance) or instance >= value


def _maximum(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return not _number(instance) or instance <= value


def _enum(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return any(_equal(instance, v) for v in value)


def _const(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return _equal(instance, value)


def _ref(c: _Checker, value: Any, instance: Any, schema: Any, root: Any) -> bool:
    return c.ref(value, instance, root)


_KEYWORDS: dict[str, Callable[[_Checker, Any, Any, Any, Any], bool]] = {
    "type": _type,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "minItems": _min_items,
    "maxItems": _max_items,
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "minimum": _minimum,
    "maximum": _maximum,
    "enum": _enum,
    "const": _const,
    "format": _format,
    "$ref": _ref,
}
