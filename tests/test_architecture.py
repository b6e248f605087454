"""The dependency rule of DESIGN.md section 3, checked on the source and at run time."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
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


#: What the counter's first screen does without: the database (SQLAlchemy, SQLModel,
#: Alembic), the printer (python-escpos, the QR code and its imaging, pyusb), the scale's
#: port (pyserial), the technician's regex protocol, the xlsx export, and Babel's CLDR
#: data (the first weight formatted loads it). Loaded before the first paint, each
#: costs the first screen tens of milliseconds; they load in the start-up workers,
#: which begin after it.
DEFERRED_FROM_THE_FIRST_SCREEN = frozenset(
    {
        "sqlalchemy",
        "sqlmodel",
        "alembic",
        "escpos",
        "qrcode",
        "PIL",
        "usb",
        "serial",
        "regex",
        "openpyxl",
        "babel",
    }
)

#: What ``counter --help`` and ``counter --version`` do without: all of the above, the
#: configuration's models (pydantic), the screens (Textual) and Rich.
DEFERRED_FROM_THE_COMMAND_LINE = DEFERRED_FROM_THE_FIRST_SCREEN | {
    "pydantic",
    "pydantic_core",
    "textual",
    "rich",
}

#: What ``counter totals`` does without: it loads the configuration and reads the
#: database through ``sqlite3`` alone (loading SQLAlchemy and SQLModel took longer than
#: the query on a year of records), and never migrates (unless the schema is old),
#: prints, opens a port, draws a screen or writes a workbook.
DEFERRED_FROM_TOTALS = frozenset(
    {
        "sqlalchemy",
        "sqlmodel",
        "alembic",
        "mako",
        "textual",
        "escpos",
        "qrcode",
        "PIL",
        "usb",
        "serial",
        "openpyxl",
    }
)


def loaded_packages(code: str, *args: str) -> set[str]:
    """The top-level packages loaded once ``code`` ran in a new interpreter; ``code``
    prints them as JSON on its last line (``LOADED`` does that)."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


LOADED = "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"


def test_the_first_screen_does_not_wait_for_the_database_or_printer_libraries() -> None:
    """Cold start: importing the counter's screens, and what ``counter`` does before it
    shows them (the data directory, the station's lock), loads none of the libraries
    that the start-up workers need (``make bench`` measures the start)."""
    code = (
        "import json, sys\n"
        "import counter_app.ui.app, counter_app.cli.app, counter_app.services.station_lock\n"
        "from db.files import make_private_dir\n"
    )
    loaded = loaded_packages(code + LOADED)
    assert loaded & DEFERRED_FROM_THE_FIRST_SCREEN == set()


def test_the_database_and_the_scale_start_after_the_first_paint(
    tmp_path: Path, config_file: Callable[..., Path]
) -> None:
    """At the first paint the database is not open and neither the database's nor the
    scale's nor the printer's libraries are loaded: their workers start after it, so they
    do not hold the interpreter while the first frame is drawn."""
    path = config_file(
        f"""
        [station]
        id = "MS01"
        [scale]
        port = "sim"
        [printer]
        connection = "preview"
        path = "{tmp_path / "labels"}"
        [database]
        path = "{tmp_path / "counter.sqlite3"}"
        """
    )
    code = (
        "import json, sys\n"
        "from counter_app.config import load_config\n"
        "from counter_app.ui.app import CounterApp\n"
        "class FirstPaint(CounterApp):\n"
        "    def on_mount(self):\n"
        "        self.call_after_refresh(self._painted)\n"
        "    def _painted(self):\n"
        "        packages = {m.split('.')[0] for m in sys.modules}\n"
        "        self.seen = (packages, self.counter_service.is_open)\n"
        "        self.exit()\n"
        "app = FirstPaint(load_config(sys.argv[1]), demo_scenario=False)\n"
        "app.run(headless=True, size=(80, 24))\n"
        "packages, database_open = app.seen\n"
        "print(json.dumps(sorted(packages) + (['DATABASE OPEN'] if database_open else [])))\n"
    )
    loaded = loaded_packages(code, str(path))
    assert "textual" in loaded  # the child did paint
    deferred = DEFERRED_FROM_THE_FIRST_SCREEN - {"babel"}  # the weight shows "0,00 kg"
    assert loaded & (deferred | {"DATABASE OPEN"}) == set()


@pytest.mark.parametrize(
    "arguments",
    [["--help"], ["--version"], ["export", "--help"], ["totals", "--help"], ["scale", "--help"]],
)
def test_help_and_version_load_no_heavy_library(arguments: list[str]) -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "from counter_app.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(sys.argv[1:])\n" + LOADED
    )
    assert loaded_packages(code, *arguments) & DEFERRED_FROM_THE_COMMAND_LINE == set()


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_totals_loads_only_what_it_uses(
    tmp_path: Path, config_file: Callable[..., Path], output_format: str
) -> None:
    """``counter totals`` on a database at the newest schema reads it through
    ``sqlite3`` alone: neither SQLAlchemy nor SQLModel is loaded (``make bench``
    measures the command)."""
    from drop_offs import AT, scale_drop_off

    from db.engine import open_database
    from db.writes import record_drop_off

    database = tmp_path / "counter.sqlite3"
    engine = open_database(database)  # at the newest schema: nothing to migrate
    try:
        record_drop_off(engine, scale_drop_off(12_340), now=AT)
    finally:
        engine.dispose()
    path = config_file(f'[database]\npath = "{database}"\n')
    code = (
        "import contextlib, io, json, sys\n"
        "from counter_app.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert main(sys.argv[1:]) == 0\n"
        # The day's record and the station's chain head were read and printed.
        "assert '12,34' in out.getvalue() or '12.340' in out.getvalue(), out.getvalue()\n"
        "assert 'MS01:' in out.getvalue(), out.getvalue()\n" + LOADED
    )
    arguments = ["--config", str(path), "totals", "--day", "2024-05-14", "--format"]
    loaded = loaded_packages(code, *arguments, output_format)
    unused = DEFERRED_FROM_TOTALS | ({"rich", "babel"} if output_format == "json" else set())
    assert loaded & unused == set()


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
