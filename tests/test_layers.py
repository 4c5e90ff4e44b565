"""The package's import graph: imports only run down the layers of docs/architecture.md, and no
module imports itself back through others (lazy and type-checking-only imports count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bridge"

# Bottom to top. A module may import its own package and any package on a lower floor; packages
# that share a floor are siblings and may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bridge.world",),  # tile keys, the camera, photos, the store
    ("bridge.formats",),  # the splat cloud, a tile's content, every file format
    ("bridge.render",),  # the rasterisers
    ("bridge.generate",),  # the Generator contract and its backends, worker processes
    ("bridge.stream",),  # per-viewer selection, transport-free, and the stream's messages
    ("bridge.core",),  # the service: worlds, the scheduler, the stream loop, its errors
    ("bridge.wire",),  # gRPC stubs, conversions, WebSocket framing: shared by servers and clients
    ("bridge.api", "bridge.client"),  # the transports; the Python clients
    ("bridge.likeness", "bridge.logs", "bridge.samples"),  # what the programs below share
    ("bridge.benches", "bridge.demo", "bridge.quality"),  # programs
    ("bridge.cli",),
    ("bridge.__main__",),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports, anywhere in its body."""
    files = {_module_name(p): p for p in package.rglob("*.py") if "_proto" not in p.parts}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from bridge.x import y``: the submodule y if there is one, else bridge.x itself.
                targets.update(
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in files else node.module
                    for alias in node.names
                )
        graph[module] = {t for t in targets if t.split(".")[0] == package.name and t not in (module, package.name)}
    del graph[package.name]  # the top package's __init__: empty, on no floor
    return graph


def floor_of(module: str) -> tuple[int, str]:
    for floor, packages in enumerate(LAYERS):
        for package in packages:
            if module == package or module.startswith(package + "."):
                return floor, package
    raise LookupError(f"{module} is on no floor of LAYERS: add it (and to docs/architecture.md)")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module on a higher floor or of a sibling package, as 'a -> b'."""
    wrong = []
    for module, targets in graph.items():
        floor, package = floor_of(module)
        for target in targets:
            target_floor, target_package = floor_of(target)
            if target_package != package and target_floor >= floor:
                wrong.append(f"{module} -> {target}")
    return sorted(wrong)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_imports_only_run_down() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_every_package_has_a_floor() -> None:
    for module in import_graph():
        floor_of(module)


def test_the_checks_catch_a_back_arrow_and_a_cycle() -> None:
    graph = {"bridge.world.keys": {"bridge.core.worlds"}, "bridge.core.worlds": {"bridge.world.keys"}}
    assert upward_imports(graph) == ["bridge.world.keys -> bridge.core.worlds"]
    assert cycles(graph) == [["bridge.core.worlds", "bridge.world.keys"]]
    assert upward_imports({"bridge.api.http": {"bridge.client.client"}}) == ["bridge.api.http -> bridge.client.client"]
    with pytest.raises(LookupError):
        floor_of("bridge.nowhere")
