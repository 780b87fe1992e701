"""`${...}` template variables: finding them, looking them up, rendering them into params.

Syntax: `${name}` or `${name.path}`, where every segment starts with a letter or `_`, continues
with letters, digits, `_` or `-`, and may carry `[n]` list indexes (`${node.items[0].name}`).
`$${x}` is an escape: it renders as the literal text `${x}` and is never resolved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pflow.foundation.exceptions import TemplateResolutionError

_SEGMENT = r"[A-Za-z_][A-Za-z0-9_-]*(?:\[\d+\])*"
_PATH = rf"{_SEGMENT}(?:\.{_SEGMENT})*"
TEMPLATE_RE = re.compile(rf"(\$?)\$\{{({_PATH})\}}")
_PATH_RE = re.compile(_PATH)
_UNTERMINATED_RE = re.compile(rf"(?<!\$)\$\{{{_PATH}(?=$|[\s\"'])")
_PART_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")

PathPart = str | int


@dataclass(frozen=True)
class Template:
    """One template occurrence: its text (`${a.b}`) and parsed path (`("a", "b")`)."""

    text: str
    path: tuple[PathPart, ...]

    @property
    def base(self) -> str:
        """The first name of the path: an input, a node id or a store key."""
        return str(self.path[0])


def parse_path(expr: str) -> tuple[PathPart, ...]:
    """Split `a.b[0].c` into `("a", "b", 0, "c")`."""
    return tuple(name if name else int(index) for name, index in _PART_RE.findall(expr))


def parse_source(source: str) -> Template | None:
    """Parse a declared output's `source`: `${a.b}`, `$a.b` or bare `a.b`; None if malformed."""
    text = source.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    elif text.startswith("$"):
        text = text[1:]
    if not _PATH_RE.fullmatch(text):
        return None
    return Template(source, parse_path(text))


def find_templates(text: str) -> list[Template]:
    """Every unescaped template in `text`, in order of appearance."""
    return list(_templates_in(text))


def _templates_in(text: str) -> Iterator[Template]:
    """find_templates one at a time: memory does not grow with the number of templates."""
    for m in TEMPLATE_RE.finditer(text):
        if not m.group(1):
            yield Template(m.group(0), parse_path(m.group(2)))


def has_templates(value: Any) -> bool:
    """Whether `value` (a param value at any depth) contains `${` that needs processing."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(has_templates(v) for v in value.values())
    if isinstance(value, list):
        return any(has_templates(v) for v in value)
    return False


def iter_templates(value: Any, pointer: str = "") -> Iterator[tuple[str, Template]]:
    """(JSON pointer, template) for every template inside a params structure."""
    for where, text in iter_strings(value, pointer):
        for template in _templates_in(text):
            yield where, template


def iter_strings(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """(JSON pointer, string) for every string inside a params structure."""
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_strings(item, f"{pointer}/{_escape(str(key))}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_strings(item, f"{pointer}/{index}")


def unterminated_templates(text: str) -> list[str]:
    """Beginnings of templates that never close, such as `${sort.stdout` at the end of text.

    Only `${` plus a name followed by the end, a space or a quote counts: shell expansions
    such as `${VAR:-default}` or `${#list[@]}` are not templates and are left alone.
    """
    return [m.group(0) for m in _UNTERMINATED_RE.finditer(text)]


def lookup(context: Mapping[str, Any], path: tuple[PathPart, ...]) -> tuple[bool, Any]:
    """Walk `path` through dicts and lists; (False, None) when any step is missing."""
    current: Any = context
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return False, None
            current = current[part]
        else:
            if not isinstance(current, Mapping) or part not in current:
                return False, None
            current = current[part]
    return True, current


def render(value: Any) -> str:
    """Text form of a value embedded in a string: JSON for objects, arrays and booleans."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def resolve_value(value: Any, context: Mapping[str, Any], where: str = "") -> Any:
    """Resolve every template in a params structure against `context`.

    A string that is exactly one template takes the referenced value with its type; other
    strings get each template rendered as text. Raises `_Unresolved` for a missing value.
    """
    if isinstance(value, str):
        return _resolve_string(value, context, where)
    if isinstance(value, dict):
        return {
            k: resolve_value(v, context, f"{where}/{_escape(str(k))}") for k, v in value.items()
        }
    if isinstance(value, list):
        return [resolve_value(v, context, f"{where}/{i}") for i, v in enumerate(value)]
    return value


def resolve_params(
    params: dict[str, Any], context: Mapping[str, Any], node_id: str, node_type: str
) -> dict[str, Any]:
    """Resolve a node's params; an unresolvable template becomes a TemplateResolutionError."""
    try:
        resolved: dict[str, Any] = resolve_value(params, context)
    except _Unresolved as missing:
        raise TemplateResolutionError(
            f"Template {missing.template.text} in node '{node_id}' (param "
            f"'{missing.where.lstrip('/')}') "
            f"{missing.problem or 'has no value when the node runs'}",
            hint=_BINARY_HINT if missing.problem else _resolution_hint(missing.template, context),
            node_id=node_id,
            node_type=node_type,
            pointer=f"/params{missing.where}",
        ) from None
    return resolved


class _Unresolved(Exception):
    def __init__(self, template: Template, where: str, problem: str | None = None) -> None:
        super().__init__(template.text)
        self.template = template
        self.where = where
        self.problem = problem


def _resolve_string(text: str, context: Mapping[str, Any], where: str) -> Any:
    if "${" not in text:
        return text
    whole = TEMPLATE_RE.fullmatch(text)
    if whole is not None and not whole.group(1):
        template = Template(text, parse_path(whole.group(2)))
        found, value = lookup(context, template.path)
        if not found:
            raise _Unresolved(template, where)
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):  # `$${x}` is an escape for the literal `${x}`
            return match.group(0)[1:]
        template = Template(match.group(0), parse_path(match.group(2)))
        found, value = lookup(context, template.path)
        if not found:
            raise _Unresolved(template, where)
        if isinstance(value, bytes):
            raise _Unresolved(template, where, f"is binary data ({len(value)} bytes), not text")
        return render(value)

    return TEMPLATE_RE.sub(substitute, text)


_BINARY_HINT = (
    "Binary data can only be passed whole, as a param that is exactly the template, e.g. "
    'a shell node\'s "stdin": "${stdin}"'
)


def _resolution_hint(template: Template, context: Mapping[str, Any]) -> str:
    if template.base == "stdin":
        return "Pipe data into pflow, e.g. `echo hello | pflow run workflow.json`"
    if template.base not in context:
        return (
            f"'{template.base}' has no value: if it is a node, it did not run before this "
            f"node on the path taken; if it is an input, pass {template.base}=<value>"
        )
    return (
        f"'{template.base}' exists but has no '{_path_text(template.path[1:])}': check the "
        f"spelling, or route around the node that should have written it"
    )


def _path_text(parts: tuple[PathPart, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
