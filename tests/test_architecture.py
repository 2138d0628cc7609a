"""The layers point one way: no two capabilities of `app/` import each other, even through others."""

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def unit_of(module: str) -> str:
    """`app.orders.capture` belongs to `orders`; a top-level module (`app.api`) is a unit of its own."""
    return module.split(".")[1]


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        source = unit_of(".".join(path.relative_to(APP.parent).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app."):
                target = unit_of(node.module)
                if target != source:
                    graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle of imports once, as the path that closes it."""
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target == path[0]:
                if min(path) == path[0]:
                    found.append([*path, target])
            elif target not in path and target > path[0]:
                visit(target, [*path, target])

    for start in sorted(graph):
        visit(start, [start])
    return found


def test_no_two_capabilities_import_each_other() -> None:
    assert cycles(import_graph()) == []


def test_a_circle_of_imports_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
