"""The layers of docs/architecture.md hold: a package imports only the packages below it, counting
imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What each package may import (the layers from the top down).
MAY_IMPORT = {
    "config": {"api", "jobs", "rectification", "inspection", "grid", "workflows", "governance"},
    "api": {"jobs", "rectification", "inspection", "grid", "workflows", "governance"},
    "rectification": {"jobs", "inspection", "grid", "workflows", "governance"},
    "inspection": {"jobs", "grid", "workflows", "governance"},
    "grid": {"jobs", "workflows", "governance"},
    "workflows": {"governance"},
    "jobs": {"governance"},
    "governance": set(),
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(MAY_IMPORT)


def test_every_package_imports_only_the_layers_below_it():
    wrong = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in imported_packages(path) - allowed - {package}:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, "imports against the layers of docs/architecture.md:\n" + "\n".join(wrong)


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from rectification import states\n", encoding="utf-8")
    assert imported_packages(module) == {"rectification"}
