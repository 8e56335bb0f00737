"""DESIGN.md's import rule: bot -> intake, classifier, workflow; those three never import each other or bot."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("workflow", "intake", "classifier")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_no_other_layer_and_not_bot(layer: str) -> None:
    forbidden = (set(LAYERS) - {layer}) | {"bot"}
    offenders = {str(path.relative_to(REPO)): sorted(imported_packages(path) & forbidden)
                 for path in (REPO / layer).rglob("*.py") if imported_packages(path) & forbidden}
    assert offenders == {}
