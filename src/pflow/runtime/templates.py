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


def _split_path(expr: str) -> tuple[PathPart, ...]:
    """parse_path for an `expr` known to match the path syntax: without `[`, split at dots."""
    return parse_path(expr) if "[" in expr else tuple(expr.split("."))


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


# How one string holding `${` resolves, parsed in advance (`plan_text`):
#   (path, ())     the string is exactly one template: it takes the value itself, with its type
#   (None, pieces) literal texts and (template text, path) pairs, in order: each template is
#                  rendered as text and the pieces joined (an escape `$${x}` is already `${x}`)
# Only plain tuples, strings and ints: a compiled workflow keeps one plan per templated string
# for its whole life, and the garbage collector stops tracking such tuples after one pass.
TemplateRef = tuple[str, tuple[PathPart, ...]]
TextPlan = tuple[tuple[PathPart, ...] | None, tuple[str | TemplateRef, ...]]


def plan_text(text: str) -> TextPlan:
    """Parse `text` for resolution; see TextPlan."""
    whole = TEMPLATE_RE.fullmatch(text)
    if whole is not None and not whole.group(1):
        return _split_path(whole.group(2)), ()
    pieces: list[str | TemplateRef] = []
    end = 0
    for match in TEMPLATE_RE.finditer(text):
        if match.start() > end:
            pieces.append(text[end : match.start()])
        if match.group(1):  # `$${x}` is an escape for the literal `${x}`
            pieces.append(match.group(0)[1:])
        else:
            pieces.append((match.group(0), _split_path(match.group(2))))
        end = match.end()
    if end < len(text):
        pieces.append(text[end:])
    return None, tuple(pieces)


def _plan_templates(text: str, plan: TextPlan) -> Iterator[TemplateRef]:
    """(template text, path) of every unescaped template of `text`, in order."""
    path, pieces = plan
    if path is not None:
        yield text, path
    for piece in pieces:
        if not isinstance(piece, str):
            yield piece


# (JSON pointer, string) of every string holding `${` in one node's params (TemplateScan.scan).
TextRefs = tuple[tuple[str, str], ...]


class TemplateScan:
    """A workflow's params walked once per node, each string holding `${` parsed once.

    `scan(params)` gives one node's TextRefs, in the order `iter_strings` walks the params
    (only strings holding `${` can hold templates, or unterminated ones). `plans` maps every
    string found, in any node, to its TextPlan: a string parses the same wherever it is, and
    the compiled runners resolve their params with these plans on every run. Validation, the
    compiler and the runners share one scan. It keeps no object per node that the garbage
    collector must track (only tuples of strings), so that a large workflow costs no more
    collection work per node than a small one.
    """

    __slots__ = ("plans",)

    def __init__(self) -> None:
        self.plans: dict[str, TextPlan] = {}

    def scan(self, params: Any) -> TextRefs:
        """Walk `params` (a node's): every string in it that holds `${`, parsed on the way."""
        found: list[tuple[str, str]] = []
        if isinstance(params, dict):
            for key, value in params.items():
                if isinstance(value, str):  # the common case, handled without a call
                    if "${" in value:
                        self._add(f"/{_escape(str(key))}", value, found)
                elif isinstance(value, dict | list):
                    self._collect(value, f"/{_escape(str(key))}", found)
        else:
            self._collect(params, "", found)
        return tuple(found)

    def templates(self, texts: TextRefs) -> Iterator[tuple[str, str, tuple[PathPart, ...]]]:
        """(JSON pointer, template text, path) for every template of `texts`, as
        `iter_templates` finds them (without making a Template of each)."""
        for where, text in texts:
            for template_text, path in _plan_templates(text, self.plans[text]):
                yield where, template_text, path

    def bases(self, texts: TextRefs) -> set[str]:
        """The base names (`Template.base`) of the templates of `texts`."""
        return {str(path[0]) for _, text in texts for _, path in self._refs(text)}

    def all_bases(self) -> set[str]:
        """The base names of every template found, in any node."""
        return {str(path[0]) for text in self.plans for _, path in self._refs(text)}

    def whole(self, text: str) -> bool:
        """Whether `text`, a string found, is exactly one template."""
        return self.plans[text][0] is not None

    def _refs(self, text: str) -> Iterator[TemplateRef]:
        return _plan_templates(text, self.plans[text])

    def _add(self, where: str, text: str, found: list[tuple[str, str]]) -> None:
        if text not in self.plans:  # the same text twice is parsed once
            self.plans[text] = plan_text(text)
        found.append((where, text))

    def _collect(self, value: Any, pointer: str, found: list[tuple[str, str]]) -> None:
        """Add every string with `${` inside `value`, as iter_strings walks it.

        Pointers are built only on the way to containers and such strings, not for every value.
        """
        if isinstance(value, str):
            if "${" in value:
                self._add(pointer, value, found)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str | dict | list):
                    self._collect(item, f"{pointer}/{_escape(str(key))}", found)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str | dict | list):
                    self._collect(item, f"{pointer}/{index}", found)


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
            # `type(...) is dict` first: the store and node outputs are plain dicts, and the
            # Mapping check (an ABC) costs more than the rest of the step.
            if not (type(current) is dict or isinstance(current, Mapping)) or part not in current:
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
    try:
        return _resolve(value, context, _NO_PLANS)
    except _Unresolved as missing:
        missing.where = where + missing.where
        raise


def resolve_params(
    params: dict[str, Any],
    context: Mapping[str, Any],
    node_id: str,
    node_type: str,
    plans: Mapping[str, TextPlan] | None = None,
) -> dict[str, Any]:
    """Resolve a node's params; an unresolvable template becomes a TemplateResolutionError.

    `plans` holds the params' strings parsed in advance (`TemplateScan.plans`); a string missing
    from it is parsed here.
    """
    try:
        resolved: dict[str, Any] = _resolve(params, context, plans or _NO_PLANS)
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
    """A template without a value. `where`, the JSON pointer of its string, is built up as the
    exception leaves each container, so resolving never builds pointers it does not need."""

    def __init__(self, template: Template, where: str = "", problem: str | None = None) -> None:
        super().__init__(template.text)
        self.template = template
        self.where = where
        self.problem = problem


_NO_PLANS: Mapping[str, TextPlan] = {}


def _resolve(value: Any, context: Mapping[str, Any], plans: Mapping[str, TextPlan]) -> Any:
    """resolve_value, with strings parsed in advance in `plans`; containers are always rebuilt."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        plan = plans.get(value)
        return _resolve_text(value, plan_text(value) if plan is None else plan, context)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            try:
                out[key] = _resolve(item, context, plans)
            except _Unresolved as missing:
                missing.where = f"/{_escape(str(key))}{missing.where}"
                raise
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for index, item in enumerate(value):
            try:
                items.append(_resolve(item, context, plans))
            except _Unresolved as missing:
                missing.where = f"/{index}{missing.where}"
                raise
        return items
    return value


def _resolve_text(text: str, plan: TextPlan, context: Mapping[str, Any]) -> Any:
    path, pieces = plan
    if path is not None:
        found, value = lookup(context, path)
        if not found:
            raise _Unresolved(Template(text, path))
        return value
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        found, value = lookup(context, piece[1])
        if not found:
            raise _Unresolved(Template(*piece))
        if isinstance(value, bytes):
            problem = f"is binary data ({len(value)} bytes), not text"
            raise _Unresolved(Template(*piece), "", problem)
        out.append(render(value))
    return "".join(out)


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
