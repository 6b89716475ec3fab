"""docs/api.md's error table lists exactly the error codes the code answers with, each at its status.

The codes are collected from the source, not from a list kept by hand: every `PlutomiError` (or
subclass) raised with a literal code, every rate limit (`Limit(..., code, ...)`: a 429), every
`error_response(status, code, ...)` and gateway
`_json_error(status, code, ...)`, and any `{"error": {"code": ...}}` written out literally, in
`layers/plutomi/python/plutomi/` and `functions/`. A new code fails this test until the table has it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from plutomi.entrypoints.api import STATUS_BY_KIND

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "layers" / "plutomi" / "python" / "plutomi", ROOT / "functions"]
TABLE = ROOT / "docs" / "api.md"
# Calls that answer an error themselves: the status is their first argument, the code their second.
RESPONDERS = {"error_response", "_json_error"}
ROW = re.compile(r"^\|\s*(\d{3})\s*\|(.*)\|\s*$")
CODE = re.compile(r"`([a-z][a-z0-9_]*)`")


@dataclass
class Found:
    pairs: set[tuple[int, str]] = field(default_factory=set)  # (status, code)
    bare: set[str] = field(default_factory=set)  # codes written in a body whose status is not literal
    unreadable: list[str] = field(default_factory=list)  # where a code or status is not a literal


def _files() -> list[Path]:
    return sorted(path for root in SOURCES for path in root.rglob("*.py"))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _error_classes(trees: dict[Path, ast.Module]) -> dict[str, int]:
    """Every PlutomiError subclass defined in the sources, with the status it answers."""
    bases: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases[node.name] = [name for base in node.bases if (name := _name(base))]
            for statement in node.body:
                target: ast.expr | None = None
                if isinstance(statement, ast.AnnAssign):
                    target = statement.target
                elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target = statement.targets[0]
                value = getattr(statement, "value", None)
                if isinstance(target, ast.Name) and target.id == "kind" and isinstance(value, ast.Constant):
                    kinds[node.name] = str(value.value)

    def lineage(name: str) -> list[str]:
        line, todo = [], [name]
        while todo:
            current = todo.pop(0)
            if current not in line:
                line.append(current)
                todo += bases.get(current, [])
        return line

    statuses = {}
    for name in bases:
        line = lineage(name)
        if "PlutomiError" not in line:
            continue
        kind = next(kinds[ancestor] for ancestor in line if ancestor in kinds)
        # entrypoints.api answers InvalidFields (a message per field) as 422, like validation errors.
        statuses[name] = 422 if "InvalidFields" in line else int(STATUS_BY_KIND[kind])
    return statuses


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "string" assignments, so a code kept in a constant is read too."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _text(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _status(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Attribute) and _name(node.value) == "HTTPStatus":
        return int(HTTPStatus[node.attr])
    return None


def _passes_a_code_on(node: ast.expr | None) -> bool:
    """`error.code`: an answer for an error raised elsewhere, whose code is collected there."""
    return isinstance(node, ast.Attribute) and node.attr == "code"


def collect() -> Found:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in _files()}
    classes = _error_classes(trees)
    found = Found()
    for path, tree in trees.items():
        constants = _constants(tree)
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = _name(node.func)
                keywords = {k.arg: k.value for k in node.keywords if k.arg}
                if callee in classes:
                    argument = node.args[0] if node.args else keywords.get("code")
                    status: int | None = classes[callee]
                elif callee in RESPONDERS and len(node.args) >= 2:
                    argument, status = node.args[1], _status(node.args[0])
                elif callee == "Limit" and len(node.args) >= 4:  # domain/limits.py: a 429 when over it
                    argument, status = node.args[3], int(HTTPStatus.TOO_MANY_REQUESTS)
                else:
                    continue
                if _passes_a_code_on(argument):
                    continue
                code = _text(argument, constants)
                if code is None or status is None:
                    found.unreadable.append(f"{where}:{node.lineno}: {ast.unparse(node)[:100]}")
                    continue
                found.pairs.add((status, code))
            elif isinstance(node, ast.Dict):
                # {"error": {"code": "...", ...}} written out by hand
                for key, value in zip(node.keys, node.values, strict=True):
                    if _text(key, {}) == "error" and isinstance(value, ast.Dict):
                        for inner_key, inner in zip(value.keys, value.values, strict=True):
                            code = _text(inner, constants) if _text(inner_key, {}) == "code" else None
                            if code is not None:
                                found.bare.add(code)
    return found


def documented() -> set[tuple[int, str]]:
    rows = set()
    for line in TABLE.read_text().splitlines():
        row = ROW.match(line)
        if row:
            rows |= {(int(row.group(1)), code) for code in CODE.findall(row.group(2))}
    return rows


def test_the_scan_finds_the_codes_it_should() -> None:
    found = collect()
    assert (404, "org_not_found") in found.pairs  # NotFound(...) in services
    assert (422, "invalid_answers") in found.pairs  # InvalidFields
    assert (422, "validation_failed") in found.pairs  # error_response in entrypoints
    assert (413, "body_too_large") in found.pairs  # the gateway's own answer
    assert (429, "too_many_codes") in found.pairs  # a raise over several lines
    assert (429, "too_many_wrong_codes") in found.pairs  # a rate limit of domain/limits.py
    assert len(found.pairs) > 60


def test_every_code_is_raised_with_a_literal_the_scan_can_read() -> None:
    assert collect().unreadable == [], (
        "write error codes (and the status of error_response/_json_error) as literals or module "
        "constants, so this test and docs/api.md can see them"
    )


def test_the_error_table_lists_every_code_the_code_raises_and_no_other() -> None:
    found, table = collect(), documented()
    missing = sorted(found.pairs - table)
    assert missing == [], f"add these (status, code) rows to the error table in {TABLE.name}: {missing}"
    tabled_codes = {code for _, code in table}
    missing_bare = sorted(found.bare - tabled_codes)
    assert missing_bare == [], f"add these codes to the error table in {TABLE.name}: {missing_bare}"
    raised_codes = {code for _, code in found.pairs} | found.bare
    stale = sorted((status, code) for status, code in table - found.pairs if code not in found.bare)
    stale += sorted((s, c) for s, c in table if c not in raised_codes and (s, c) not in stale)
    assert stale == [], f"{TABLE.name} lists codes nothing answers with any more: {sorted(set(stale))}"
