"""The direction of imports inside the plutomi package, read from the source (no import runs):
the domain imports nothing of ours but the domain, services reach adapters only through
`services/ports.py`, and no two modules of a layer import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS

from plutomi.domain import idempotency

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "plutomi" / "python" / "plutomi"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every plutomi module the file imports, at module level or inside functions (but not under
    TYPE_CHECKING, which never runs)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for child in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("plutomi"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("plutomi")}
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in found if name in modules}


def _layer(name: str) -> str:
    return name.split(".")[1] if name.count(".") >= 1 else name


GRAPH = {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}


def test_the_domain_imports_only_the_domain() -> None:
    offending = {
        module: sorted(i for i in imported if _layer(i) != "domain")
        for module, imported in GRAPH.items()
        if _layer(module) == "domain"
    }
    assert {m: i for m, i in offending.items() if i} == {}


def test_services_reach_adapters_only_through_the_ports() -> None:
    offending = {
        module: sorted(i for i in imported if _layer(i) == "adapters")
        for module, imported in GRAPH.items()
        if _layer(module) == "services" and module != "plutomi.services.ports"
    }
    assert {m: i for m, i in offending.items() if i} == {}


def test_no_import_circles_between_services() -> None:
    services = {m: {i for i in imported if _layer(i) == "services"} for m, imported in GRAPH.items()}
    services = {m: i for m, i in services.items() if _layer(m) == "services"}
    circles = []
    for start in services:
        seen: set[str] = set()
        stack = list(services[start])
        while stack:
            current = stack.pop()
            if current == start:
                circles.append(start)
                break
            if current not in seen:
                seen.add(current)
                stack.extend(services.get(current, ()))
    assert circles == []


def test_the_checks_see_a_circle_and_an_adapter_import() -> None:
    """The graph is read right: the moves module imports designs-free code, applicants imports moves."""
    assert "plutomi.services.moves" in GRAPH["plutomi.services.applicants"]
    assert "plutomi.services.moves" in GRAPH["plutomi.services.applications"]
    assert "plutomi.adapters.resolver" in GRAPH["plutomi.services.ports"]


def test_idempotency_statuses_are_powertools_own() -> None:
    assert STATUS_CONSTANTS["INPROGRESS"] == idempotency.IN_PROGRESS
    assert STATUS_CONSTANTS["COMPLETED"] == idempotency.COMPLETED
    assert STATUS_CONSTANTS["EXPIRED"] == idempotency.EXPIRED
