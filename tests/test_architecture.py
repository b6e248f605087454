"""The dependency rule of DESIGN.md section 3, checked on the source and at run time."""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
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


def test_importing_drivers_and_db_loads_no_textual(tmp_path: Path) -> None:
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
    # python-escpos's printer database from a pickle, as the counter loads it: not
    # parsed (a third of a second) for an import.
    environment = {**os.environ, "ESCPOS_CAPABILITIES_PICKLE_DIR": str(tmp_path / "escpos")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=True,
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


def loaded_packages(code: str, *args: str, lines: int = 1) -> list[set[str]]:
    """The top-level packages loaded when ``code``, run in a new interpreter, printed
    them as JSON on each of its last ``lines`` lines (``LOADED`` prints them)."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    return [set(json.loads(line)) for line in result.stdout.splitlines()[-lines:]]


LOADED = "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"


@pytest.fixture(scope="module")
def sim_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("first-paint")
    path = folder / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [station]
            id = "MS01"
            [scale]
            port = "sim"
            [printer]
            connection = "preview"
            path = "{folder / "labels"}"
            [database]
            path = "{folder / "counter.sqlite3"}"
            """
        ),
        encoding="utf-8",
    )
    return path


@functools.cache
def cold_start(site: Path) -> tuple[set[str], set[str]]:
    """What one new interpreter has loaded once it imported the counter's screens and
    what ``counter`` does before it shows them (the data directory, the station's lock),
    and then at the counter's first paint (``DATABASE OPEN`` if the database was).

    One interpreter for both (a new one costs a second of CPU here): the first set is
    taken before the configuration is loaded or anything is painted."""
    code = (
        "import json, sys\n"
        "import counter_app.ui.app, counter_app.cli.app, counter_app.services.station_lock\n"
        "from db.files import make_private_dir\n"
        + LOADED
        + "from counter_app.config import load_config\n"
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
    imported, painted = loaded_packages(code, str(site), lines=2)
    return imported, painted


def test_the_first_screen_does_not_wait_for_the_database_or_printer_libraries(
    sim_site: Path,
) -> None:
    """Cold start: importing the counter's screens, and what ``counter`` does before it
    shows them (the data directory, the station's lock), loads none of the libraries
    that the start-up workers need (``make bench`` measures the start)."""
    imported, _ = cold_start(sim_site)
    assert "counter_app" in imported
    assert imported & DEFERRED_FROM_THE_FIRST_SCREEN == set()


def test_the_database_and_the_scale_start_after_the_first_paint(sim_site: Path) -> None:
    """At the first paint the database is not open and neither the database's nor the
    scale's nor the printer's libraries are loaded: their workers start after it, so they
    do not hold the interpreter while the first frame is drawn."""
    _, loaded = cold_start(sim_site)
    assert "textual" in loaded  # the child did paint
    deferred = DEFERRED_FROM_THE_FIRST_SCREEN - {"babel"}  # the weight shows "0,00 kg"
    assert loaded & (deferred | {"DATABASE OPEN"}) == set()


HELP_AND_VERSION = (
    ("--help",),
    ("--version",),
    ("export", "--help"),
    ("totals", "--help"),
    ("scale", "--help"),
)


@dataclass(frozen=True)
class CommandRun:
    """One command run by :func:`runs_in_one_interpreter`."""

    status: object
    out: str
    #: The top-level packages loaded once it ran: by it and the commands before it.
    loaded: frozenset[str]


@functools.cache
def runs_in_one_interpreter(
    commands: tuple[tuple[str, ...], ...], *head: str
) -> tuple[CommandRun, ...]:
    """Run ``counter`` (``main``) with each of ``commands`` in turn in one new
    interpreter, ``head`` before each command's arguments.

    One interpreter for all of them (each new one costs a fifth of a second of CPU or
    more): what a command loaded stays loaded, so no heavy library after a command
    means none loaded by it, and the ones that must load least go first.
    """
    code = (
        "import contextlib, io, json, sys\n"
        "from counter_app.cli import main\n"
        "for arguments in json.loads(sys.argv[1]):\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        try:\n"
        "            status = main(sys.argv[2:] + arguments)\n"
        "        except SystemExit as exit:\n"
        "            status = exit.code\n"
        "    loaded = sorted({m.split('.')[0] for m in sys.modules})\n"
        "    print(json.dumps([status, out.getvalue(), loaded]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(commands), *head],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()[-len(commands) :]
    return tuple(
        CommandRun(status, out, frozenset(loaded)) for status, out, loaded in map(json.loads, lines)
    )


@pytest.mark.parametrize("arguments", HELP_AND_VERSION)
def test_help_and_version_load_no_heavy_library(arguments: tuple[str, ...]) -> None:
    run = runs_in_one_interpreter(HELP_AND_VERSION)[HELP_AND_VERSION.index(arguments)]
    assert run.status == 0 and run.out
    assert run.loaded & DEFERRED_FROM_THE_COMMAND_LINE == set()


@pytest.fixture(scope="module")
def one_day_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration whose database, at the newest schema, holds one drop-off."""
    from drop_offs import AT, scale_drop_off

    from db.engine import open_database
    from db.writes import record_drop_off

    folder = tmp_path_factory.mktemp("totals")
    database = folder / "counter.sqlite3"
    engine = open_database(database)  # at the newest schema: nothing to migrate
    try:
        record_drop_off(engine, scale_drop_off(12_340), now=AT)
    finally:
        engine.dispose()
    path = folder / "config.toml"
    path.write_text(f'[database]\npath = "{database}"\n', encoding="utf-8")
    return path


#: ``json`` first: it must load less (neither Rich nor Babel).
TOTALS_FORMATS = ("json", "table")


@pytest.mark.parametrize("output_format", TOTALS_FORMATS)
def test_totals_loads_only_what_it_uses(one_day_database: Path, output_format: str) -> None:
    """``counter totals`` on a database at the newest schema reads it through
    ``sqlite3`` alone: neither SQLAlchemy nor SQLModel is loaded (``make bench``
    measures the command)."""
    commands = tuple(("totals", "--day", "2024-05-14", "--format", fmt) for fmt in TOTALS_FORMATS)
    run = runs_in_one_interpreter(commands, "--config", str(one_day_database))[
        TOTALS_FORMATS.index(output_format)
    ]
    assert run.status == 0, run.out
    # The day's record and the station's chain head were read and printed.
    assert "12,34" in run.out or "12.340" in run.out, run.out
    assert "MS01:" in run.out, run.out
    unused = DEFERRED_FROM_TOTALS | ({"rich", "babel"} if output_format == "json" else set())
    assert run.loaded & unused == set()


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
