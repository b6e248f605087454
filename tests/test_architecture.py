"""The dependency rule of DESIGN.md section 3, checked on the source and at run time."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "drivers": {"textual", "counter_app", "db"},
    "db": {"textual", "counter_app", "drivers"},
    "counter_app/services": {"textual"},
    # Screens call services: no SQL, no serial port, no ESC/POS in the UI.
    "counter_app/ui": {"db", "sqlalchemy", "sqlmodel", "serial", "escpos"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_it_may(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources found under {package}"
    offenders = {
        str(f.relative_to(ROOT)): sorted(imported_modules(f) & FORBIDDEN[package]) for f in files
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_rule_detects_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import textual.app\nfrom counter_app import cli\n")
    assert imported_modules(bad) == {"textual", "counter_app"}


def test_importing_drivers_and_db_loads_no_textual() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for package in ("drivers", "db")
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts and p.name != "__main__.py"
    )
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('textual', 'counter_app'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert json.loads(result.stdout) == []


def test_the_first_screen_does_not_wait_for_the_database_or_printer_libraries() -> None:
    """Cold start: SQLAlchemy and python-escpos load in the workers, after the first paint.

    (Together they cost a third of a second; ``make bench`` measures the start.)
    """
    code = (
        "import json, sys\n"
        "import counter_app.ui.app\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'sqlmodel', 'escpos', 'alembic', 'openpyxl'})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert json.loads(result.stdout) == []


def test_no_two_modules_import_each_other() -> None:
    """An import cycle between two modules (the app and its screen imported each other)
    makes both hard to read and to test alone. Function-level imports count too."""
    import grimp

    graph = grimp.build_graph("counter_app", "drivers", "db")
    assert "counter_app.ui.app" in graph.modules and len(graph.modules) > 50
    pairs = sorted(
        {
            tuple(sorted((module, other)))
            for module in graph.modules
            for other in graph.find_modules_directly_imported_by(module)
            if module in graph.find_modules_directly_imported_by(other)
        }
    )
    assert pairs == []
