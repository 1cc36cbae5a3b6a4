"""The layers of docs/architecture.md hold: a package imports only the packages below it, counting
imports inside functions too; inside inspection/, the township big patrol (inspection.patrol) and the
county inspection (inspection.rounds) do not import each other; posts are filtered by their role's
permissions only through Post.objects.granting()."""

from __future__ import annotations

import ast
import re
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


# Inside inspection/: each subpackage imports itself, the models of its own side and the layers below.
OTHER_SIDE = {"patrol": "rounds", "rounds": "patrol"}


def model_names(side: str) -> set[str]:
    tree = ast.parse((ROOT / "inspection" / "models" / f"{side}.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def inspection_imports(path: Path, module: str) -> set[str]:
    """The dotted inspection names a module imports (relative imports resolved, `from x import y` as x.y)."""
    package = module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "inspection" or name.startswith("inspection.")}


def crossing_imports(path: Path, module: str, side: str) -> set[str]:
    other_models = model_names(OTHER_SIDE[side])
    wrong = set()
    for name in inspection_imports(path, module):
        if name.startswith(f"inspection.{side}") or name in {"inspection", "inspection.models"}:
            continue
        if name.startswith(f"inspection.models.{side}"):
            continue
        if name.startswith("inspection.models.") and name.split(".")[2] not in other_models | {OTHER_SIDE[side]}:
            continue
        wrong.add(name)
    return wrong


def test_the_big_patrol_and_the_county_inspection_do_not_import_each_other():
    wrong = []
    for side in OTHER_SIDE:
        for path in sorted((ROOT / "inspection" / side).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            wrong += [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(crossing_imports(path, module, side))]
    assert not wrong, "inspection.patrol and inspection.rounds import only themselves and inspection.models:\n" + (
        "\n".join(wrong))


def test_the_split_check_sees_a_crossing_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from ..models import PatrolReport, ProblemClue\n"
        "from . import findings\n"
        "def f():\n    from ..rounds import letters\n    from inspection import urls\n",
        encoding="utf-8",
    )
    assert crossing_imports(module, "inspection.patrol.m", "patrol") == {
        "inspection.models.ProblemClue", "inspection.rounds", "inspection.rounds.letters", "inspection.urls",
    }


# Which post grants which permission where is read in two places only: a user's own grants
# (grid.access.region_grants) and everyone's posts (grid.models.PostQuerySet.granting), which apply
# the same rule (a township's big-patrol permission counts only through a post at a township or below).
READ_POSTS_BY_PERMISSION = {"grid/models.py", "grid/access.py"}
POSTS_FILTERED_ON_PERMISSION = re.compile(r"role__permissions__(?:codename|content_type__app_label|in\b)\w*\s*=")


def test_posts_are_filtered_by_permission_only_through_granting():
    wrong = []
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in READ_POSTS_BY_PERMISSION:
                continue
            if POSTS_FILTERED_ON_PERMISSION.search(path.read_text(encoding="utf-8")):
                wrong.append(relative)
    assert not wrong, "filter posts with Post.objects.granting(perm), not on role__permissions:\n" + "\n".join(wrong)


def test_the_granting_check_sees_a_direct_filter():
    assert POSTS_FILTERED_ON_PERMISSION.search('Post.objects.filter(role__permissions__codename="x")')
    assert POSTS_FILTERED_ON_PERMISSION.search("filter(role__permissions__codename__in=names)")
    assert not POSTS_FILTERED_ON_PERMISSION.search('.values_list("region__path", "role__permissions__codename")')
