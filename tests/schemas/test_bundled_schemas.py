"""The published schemas in `schemas/` are generated from `schemas/src/` and stand on their own.

scripts/bundle_schemas.py embeds every schema a source refers to under the root's `$defs`,
keeping its `$id`. Checked here: the generated files are current, no `$ref` leaves its
document, the embedded copies are the sources, and check-jsonschema validates against a
published schema while every network access fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import pytest

FIXTURES = Path(__file__).resolve().parent
ROOT = FIXTURES.parents[1]
SCHEMAS = ROOT / "schemas"
PUBLISHED = sorted(SCHEMAS.glob("*.schema.json"))
FIX = "python scripts/bundle_schemas.py"
# Port 9 (discard) on the loopback: nothing listens, so any fetch through the proxy fails.
NO_NETWORK = "http://127.0.0.1:9"


def _bundler() -> ModuleType:
    name = "pflow_scripts_bundle_schemas"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "bundle_schemas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the generated files -----------------------------------------------------------------------


def test_every_source_is_published() -> None:
    sources = sorted(p.name for p in (SCHEMAS / "src").glob("*.schema.json"))
    assert sources, "schemas/src holds no schema"
    assert [p.name for p in PUBLISHED] == sources


def test_generated_schemas_are_up_to_date() -> None:
    stale = _bundler().stale_files(ROOT)
    assert not stale, "\n".join([*stale, f"Run `{FIX}` to regenerate them."])


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    bundler = _bundler()
    shutil.copytree(SCHEMAS / "src", tmp_path / "schemas" / "src")
    written, orphans = bundler.write_files(tmp_path)
    assert sorted(written) == [f"schemas/{p.name}" for p in PUBLISHED]
    assert orphans == []
    assert bundler.stale_files(tmp_path) == []
    assert bundler.write_files(tmp_path) == ([], [])  # a second run changes nothing
    for path in PUBLISHED:  # the same text as the published files
        assert (tmp_path / "schemas" / path.name).read_bytes() == path.read_bytes()
    edited = tmp_path / "schemas" / "saved-workflow.schema.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("UTC", "utc"), encoding="utf-8")
    assert bundler.stale_files(tmp_path) == [
        "schemas/saved-workflow.schema.json differs from what "
        "schemas/src/saved-workflow.schema.json generates"
    ]


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.name)
def test_generated_file_says_so(path: Path) -> None:
    schema = _load(path)
    assert list(schema)[:3] == ["$schema", "$id", "$comment"]
    assert "scripts/bundle_schemas.py" in schema["$comment"]
    assert path.read_text(encoding="utf-8").endswith("}\n")


# --- self-contained ----------------------------------------------------------------------------


def _resources_and_refs(
    node: Any, base: str, resources: dict[str, Any], refs: list[tuple[str, str]]
) -> None:
    """Collect every schema resource (by absolute `$id`) and every `$ref` with its base URI."""
    if isinstance(node, list):
        for item in node:
            _resources_and_refs(item, base, resources, refs)
    elif isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            base = urljoin(base, node["$id"])
            assert base not in resources, f"two resources with $id {base}"
            resources[base] = node
        if isinstance(node.get("$ref"), str):
            refs.append((base, node["$ref"]))
        for value in node.values():
            _resources_and_refs(value, base, resources, refs)


def _follow(document: Any, fragment: str) -> Any:
    """The value at JSON pointer `fragment` (as in a URI) in `document`; KeyError if none."""
    value = document
    for token in unquote(fragment).split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.name)
def test_no_reference_leaves_the_document(path: Path) -> None:
    resources: dict[str, Any] = {}
    refs: list[tuple[str, str]] = []
    _resources_and_refs(_load(path), "", resources, refs)
    assert refs, f"{path.name} has no $ref at all"
    for base, ref in refs:
        url, fragment = urldefrag(urljoin(base, ref))
        assert url in resources, f"{path.name}: $ref {ref!r} points outside the document"
        try:
            _follow(resources[url], fragment)
        except (KeyError, IndexError, TypeError, ValueError):
            pytest.fail(f"{path.name}: $ref {ref!r} names nothing in {url}")


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.name)
def test_embedded_schemas_are_the_sources(path: Path) -> None:
    sources: dict[str, tuple[str, Any]] = {}
    for source_path in (SCHEMAS / "src").glob("*.schema.json"):
        source = _load(source_path)
        sources[source["$id"]] = (source_path.name, source)
    schema = _load(path)
    own = _load(SCHEMAS / "src" / path.name)
    assert {k: v for k, v in schema.items() if k not in ("$comment", "$defs")} == {
        k: v for k, v in own.items() if k != "$defs"
    }
    defs = schema.get("$defs", {})
    embedded = {k: v for k, v in defs.items() if isinstance(v, dict) and "$id" in v}
    assert {key: value for key, value in defs.items() if key not in embedded} == own.get(
        "$defs", {}
    )
    for key, value in embedded.items():
        file_name, original = sources[value["$id"]]
        assert key == file_name.removesuffix(".schema.json")
        assert value == original


# --- check-jsonschema, offline -----------------------------------------------------------------


def _check_jsonschema(schema: Path, *documents: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("check_jsonschema")
    tool = Path(sys.executable).parent / "check-jsonschema"
    command = [str(tool)] if tool.exists() else [sys.executable, "-m", "check_jsonschema"]
    env = {
        **os.environ,
        **{name: NO_NETWORK for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
        **{name.lower(): NO_NETWORK for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
        "NO_PROXY": "",
        "no_proxy": "",
    }
    return subprocess.run(
        [*command, "--no-cache", "--schemafile", str(schema), *map(str, documents)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_check_jsonschema_accepts_valid_saved_workflows_offline() -> None:
    valid = sorted((FIXTURES / "saved-workflow" / "valid").glob("*.json"))
    # One of them uses both the IR schema (ir) and the execution-result schema (errors).
    assert "with-execution-history.json" in [p.name for p in valid]
    done = _check_jsonschema(SCHEMAS / "saved-workflow.schema.json", *valid)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_check_jsonschema_rejects_invalid_saved_workflows_offline() -> None:
    # The defects sit inside the embedded IR schema and the embedded execution-result schema.
    invalid = FIXTURES / "saved-workflow" / "invalid"
    names = ("ir-breaks-ir-schema.json", "error-unknown-category.json")
    done = _check_jsonschema(SCHEMAS / "saved-workflow.schema.json", *(invalid / n for n in names))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Schema validation errors were encountered" in output
    assert "Failure resolving" not in output
    assert "ir-breaks-ir-schema.json::$.ir.ir_version" in output
    assert "error-unknown-category.json::$.rich_metadata.last_execution_errors[0]" in output


def test_the_unbundled_source_needs_the_network() -> None:
    # The control: without embedding, the same check has to fetch the IR schema, and cannot.
    valid = FIXTURES / "saved-workflow" / "valid" / "minimal-no-rich-metadata.json"
    done = _check_jsonschema(SCHEMAS / "src" / "saved-workflow.schema.json", valid)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Failure resolving $ref" in output


def test_check_jsonschema_accepts_cli_output_offline() -> None:
    # workflow-list refers to the saved-workflow schema, run-keep-going-failed to execution-result.
    valid = FIXTURES / "cli-output" / "valid"
    documents = [valid / "workflow-list.json", valid / "run-keep-going-failed.json"]
    done = _check_jsonschema(SCHEMAS / "cli-output.schema.json", *documents)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout
