"""The floors of ``docs/architecture.md``: a module imports only its own floor and those below.

Every import statement counts, those inside functions too (a lazy import is still a
dependency). Floors with two houses (analysis and rendering) keep them apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "splatlab"

FLOORS: dict[str, tuple[int, str]] = {
    "splatlab._version": (0, "core"), "splatlab.core": (0, "core"),
    "splatlab.world": (1, "world"), "splatlab.data": (1, "world"),
    "splatlab.loadchain": (1, "world"),
    "splatlab.analysis": (2, "analysis"), "splatlab.rendering": (2, "rendering"),
    "splatlab.repair": (3, "repair"), "splatlab.viz": (4, "viz"),
    "splatlab.incident": (5, "incident"),
    "splatlab.cli": (6, "cli"), "splatlab.__main__": (6, "cli"),
}
"""Each part of the package: its floor and its house (houses on one floor never meet)."""


def floor_of(module: str) -> tuple[int, str]:
    for prefix, floor in FLOORS.items():
        if module == prefix or module.startswith(prefix + "."):
            return floor
    raise KeyError(f"{module} is on no floor: add it to FLOORS and docs/architecture.md")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """splatlab modules ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.update(f"{target}.{a.name}" if not node.module else target
                         for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("splatlab.")}


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_go_down_only(path):
    here = floor_of(module_name(path))
    for target in imported(path):
        if target in ("splatlab._version",):
            continue
        there = floor_of(target if not target.endswith("._version") else "splatlab._version")
        assert there[0] <= here[0], f"{module_name(path)} (floor {here}) imports {target} {there}"
        if there[0] == here[0]:
            assert there[1] == here[1], f"{module_name(path)} imports {target} across houses"


@pytest.mark.parametrize("setup", ["import splatlab",
                                   "from splatlab.cli.main import build_parser; build_parser()"])
def test_the_top_level_and_the_cli_parser_import_nothing_heavy(setup):
    import subprocess
    import sys

    code = (f"import sys; {setup}; heavy = [m for m in ('torch', 'numba', 'matplotlib', "
            "'pandas', 'open3d', 'ipywidgets') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
