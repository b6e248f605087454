"""``counter export``, ``counter totals`` and ``counter verify``, run through ``main``.

The words are Dutch by default and English with ``language = "en"``; what a program
reads (CSV, XLSX, JSON) is the same in both.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from counter_app.cli import main
from db.engine import make_private_dir, open_database
from db.export import EXPORT_COLUMNS
from db.writes import NewDropOff, NewReading, record_drop_off, void_drop_off
from tests.conftest import NewDatabase

ConfigFile = Callable[..., Path]  # the config_file fixture of conftest.py

HEADER = ",".join(EXPORT_COLUMNS)
ROOT = Path(__file__).resolve().parents[1]


def drop_off(classification: str, code: str, name: str, grams: int) -> NewDropOff:
    return NewDropOff(
        station_id="MS01",
        classification=classification,
        category_code=code,
        category_name=name,
        eural_code="20 01 40" if classification == "recycling" else None,
        weight_grams=grams,
        weight_source="scale",
        operator="anna",
        reading=NewReading(
            weight=Decimal(grams).scaleb(-3),
            unit="kg",
            grams=grams,
            stable=True,
            net=False,
            tare=None,
            raw_frame=b"frame",
            received_at=datetime(2024, 5, 14, 8, 0, tzinfo=UTC),
            protocol="comma",
            port="sim",
        ),
    )


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The day the export tests read, migrated and recorded once per worker process."""
    path = tmp_path_factory.mktemp("template") / "data" / "counter.sqlite3"
    engine = open_database(path)
    at = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)  # 10:30 in Amsterdam
    record_drop_off(engine, drop_off("reuse", "furniture", "Meubels", 30000), now=at)
    record_drop_off(engine, drop_off("repair", "bicycles", "Fietsen", 15000), now=at)
    record_drop_off(engine, drop_off("recycling", "metaal", "Metalen", 55000), now=at)
    wrong = record_drop_off(engine, drop_off("recycling", "metaal", "Metalen", 9000), now=at)
    void_drop_off(engine, wrong.id, "teamleider", "weighed twice", now=at)
    engine.dispose()
    # Every connection is closed: the records are in the file itself, no -wal beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    return path


@pytest.fixture
def database(tmp_path: Path, database_template: Path) -> Path:
    """A copy of the template for each test: a real SQLite file, in a data folder made
    as the counter makes it (owner only)."""
    path = tmp_path / "data" / "counter.sqlite3"
    make_private_dir(path.parent)
    shutil.copy2(database_template, path)
    return path


@pytest.fixture
def config(config_file: ConfigFile, database: Path) -> str:
    return str(config_file(f'[database]\npath = "{database}"\n'))


@pytest.fixture
def english_config(config_file: ConfigFile, database: Path) -> str:
    """The same database, with the words in English."""
    text = f'language = "en"\n[database]\npath = "{database}"\n'
    return str(config_file(text, name="english.toml"))


def test_export_csv_to_standard_output(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--config",
            config,
            "export",
            "--from",
            "2024-05-14",
            "--to",
            "2024-05-14",
            "--format",
            "csv",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 5
    assert lines[1].endswith(",reuse,furniture,,30.000,scale,anna,false,,,")
    assert ",2024-05-14T10:30:00+02:00," in lines[1]
    assert lines[4].endswith(",recycling,metaal,20 01 40,9.000,scale,anna,true,,,weighed twice")


def test_export_json_to_a_file(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out" / "may.json"
    output.parent.mkdir()
    code = main(
        [
            "--config",
            config,
            "export",
            "--from",
            "2024-05-01",
            "--to",
            "2024-05-31",
            "--format",
            "json",
            "--output",
            str(output),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == ""
    assert captured.err == f"4 afgiften geschreven naar {output}\n"
    text = output.read_text(encoding="utf-8")
    data = json.loads(text, parse_float=Decimal)
    assert list(data) == ["period", "chain_anchors", "columns", "drop_offs"]
    # The anchor an export carries proves later that the database still holds it.
    (anchor,) = data["chain_anchors"]
    assert anchor.startswith("MS01:11:") and len(anchor.rsplit(":", 1)[1]) == 64
    assert main(["--config", config, "verify", "--anchor", anchor]) == 0
    capsys.readouterr()
    assert data["period"] == {"from": "2024-05-01", "to": "2024-05-31"}
    assert data["columns"] == list(EXPORT_COLUMNS)
    rows = data["drop_offs"]
    assert [list(row) for row in rows] == [list(EXPORT_COLUMNS)] * 4
    # Kilograms are JSON numbers written with exactly three decimals, never strings.
    assert [row["weight_kg"] for row in rows] == [
        Decimal("30.000"),
        Decimal("15.000"),
        Decimal("55.000"),
        Decimal("9.000"),
    ]
    assert '"weight_kg": 30.000,' in text
    assert [row["voided"] for row in rows] == [False, False, False, True]


def test_export_xlsx(tmp_path: Path, config: str) -> None:
    output = tmp_path / "may.xlsx"
    code = main(
        [
            "--config",
            config,
            "export",
            "--from",
            "2024-05-14",
            "--to",
            "2024-05-14",
            "--format",
            "xlsx",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    rows = list(load_workbook(output)["drop-offs"].iter_rows(values_only=True))
    assert rows[0] == EXPORT_COLUMNS
    assert len(rows) == 5


def test_xlsx_needs_an_output_file(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--config",
            config,
            "export",
            "--from",
            "2024-05-14",
            "--to",
            "2024-05-14",
            "--format",
            "xlsx",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err == (
        "counter: --format xlsx heeft --output BESTAND nodig (een werkmap is geen tekst)\n"
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            "2024-13-01",
            "2024-05-14",
            "--from: '2024-13-01' is geen datum; schrijf de datum als YYYY-MM-DD, "
            "bijvoorbeeld 2024-05-31",
        ),
        (
            "2024-05-14",
            "14-05-2024",
            "--to: '14-05-2024' is geen datum; schrijf de datum als YYYY-MM-DD, "
            "bijvoorbeeld 2024-05-31",
        ),
        ("2024-05-14", "2024-05-01", "--to 2024-05-01 ligt vóór --from 2024-05-14"),
    ],
)
def test_export_with_bad_dates(
    config: str, capsys: pytest.CaptureFixture[str], start: str, end: str, message: str
) -> None:
    code = main(["--config", config, "export", "--from", start, "--to", end, "--format", "csv"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == f"counter: {message}\n"
    assert captured.out == ""


def table_rows(out: str) -> list[list[str]]:
    """The rows of the tables that ``out`` prints, as lists of cells."""
    rows = []
    for line in out.splitlines():
        parts = line.replace("┃", "│").split("│")
        if len(parts) >= 3:
            rows.append([cell.strip() for cell in parts[1:-1]])
    return rows


def cells(out: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for row in table_rows(out):
        if row[0] == first:
            return row
    raise AssertionError(f"no row {first!r} in\n{out}")


def test_totals_table(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", config, "totals", "--day", "2024-05-14"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Totalen van 2024-05-14" in out
    assert cells(out, "Soort") == ["Soort", "kg", "Afgiften", "Aandeel"]
    assert cells(out, "Hergebruik") == ["Hergebruik", "30,00", "1", "30,0 %"]
    assert cells(out, "Reparatie") == ["Reparatie", "15,00", "1", "15,0 %"]
    assert cells(out, "Recycling") == ["Recycling", "55,00", "1", "55,0 %"]
    assert cells(out, "Totaal") == ["Totaal", "100,00", "3", ""]
    assert "Per categorie en fractie" in out
    assert ["Recycling", "metaal", "Metalen", "20 01 40", "55,00", "1"] in table_rows(out)
    assert out.splitlines()[-4:-1] == [
        "Aandeel hergebruik: 30,0 %",
        "Aandeel hergebruik en reparatie: 45,0 %",
        "Vervallen afgiften (niet meegeteld): 1",
    ]
    assert out.splitlines()[-1].startswith("Anker van MS01: MS01:11:")
    # No decimal point anywhere (the anchor line has none either).
    assert "." not in out.replace("20 01 40", "")


def test_totals_table_in_english(english_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", english_config, "totals", "--day", "2024-05-14"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Totals for 2024-05-14" in out
    assert cells(out, "Classification") == ["Classification", "kg", "Drop-offs", "Share"]
    assert cells(out, "Reuse") == ["Reuse", "30.00", "1", "30.0 %"]
    assert cells(out, "Total") == ["Total", "100.00", "3", ""]
    assert "Per category and fraction" in out
    assert out.splitlines()[-4:-1] == [
        "Reuse share: 30.0 %",
        "Reuse and repair share: 45.0 %",
        "Voided drop-offs (not counted): 1",
    ]
    assert out.splitlines()[-1].startswith("Anchor of MS01: MS01:11:")


def test_totals_table_shows_every_gram(
    tmp_path: Path,
    config_file: ConfigFile,
    new_database: NewDatabase,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two decimals hide a gram: then every number in the table gets three."""
    path = new_database(tmp_path / "grams.sqlite3")
    engine = open_database(path)
    at = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)
    record_drop_off(engine, drop_off("reuse", "furniture", "Meubels", 1_230_450), now=at)
    record_drop_off(engine, drop_off("recycling", "metaal", "Metalen", 12_345), now=at)
    engine.dispose()
    config = str(config_file(f'[database]\npath = "{path}"\n', name="grams.toml"))

    assert main(["--config", config, "totals", "--day", "2024-05-14"]) == 0
    out = capsys.readouterr().out
    assert cells(out, "Hergebruik")[1] == "1.230,450"
    assert cells(out, "Recycling")[1] == "12,345"
    assert cells(out, "Reparatie") == ["Reparatie", "0,000", "0", "0,0 %"]
    assert cells(out, "Totaal")[1] == "1.242,795"


def test_totals_json(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", config, "totals", "--day", "2024-05-14", "--format", "json"])
    text = capsys.readouterr().out
    data = json.loads(text, parse_float=Decimal)
    assert code == 0
    assert data["day"] == "2024-05-14"
    (anchor,) = data["chain_anchors"]
    assert anchor.startswith("MS01:11:")
    # Numbers are JSON numbers with their exact decimals, never strings or floats.
    assert '"total_kg": 100.000,' in text
    assert '"reuse_share": 0.3000,' in text
    assert data["total_kg"] == Decimal("100.000")
    assert data["count"] == 3
    assert data["voided_count"] == 1
    assert data["reuse_share"] == Decimal("0.3000")
    assert data["reuse_repair_share"] == Decimal("0.4500")
    assert data["classifications"]["recycling"] == {
        "kg": Decimal("55.000"),
        "count": 1,
        "share": Decimal("0.5500"),
    }
    assert data["categories"][0] == {
        "classification": "reuse",
        "category_code": "furniture",
        "category_name": "Meubels",
        "eural_code": None,
        "kg": Decimal("30.000"),
        "count": 1,
    }


def test_the_totals_table_shows_the_anchor(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", config, "totals", "--day", "2024-05-14"]) == 0
    totals_out = capsys.readouterr().out
    assert main(["--config", config, "verify"]) == 0
    verify_out = capsys.readouterr().out
    anchor_line = next(line for line in verify_out.splitlines() if line.startswith("Anker van"))
    assert anchor_line.startswith("Anker van MS01: MS01:11:")
    assert anchor_line in totals_out.splitlines()


def test_totals_with_a_bad_day(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", config, "totals", "--day", "yesterday"]) == 2
    assert "--day: 'yesterday' is geen datum" in capsys.readouterr().err


def test_verify_a_good_chain(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", config, "verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Bestand: in orde (snelle controle)"
    # 5 drop-off rows (4 drop-offs, 1 void), their 5 audit entries, 1 cancelled label.
    assert lines[1] == (
        "Keten: OK, 11 schakels gecontroleerd; niets gewijzigd, verwijderd of ingevoegd"
    )
    assert lines[2].startswith("Anker van MS01: MS01:11:")


def break_the_chain(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER drop_off_no_update")
        connection.execute("UPDATE drop_off SET weight_grams = 3000 WHERE label_no = 1")


def test_verify_finds_a_changed_record(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    break_the_chain(database)
    assert main(["--config", config, "verify"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Bestand: in orde (snelle controle)"
    assert lines[1] == (
        "Keten: GEBROKEN: afgifte MS01-000001 is gewijzigd nadat het was vastgelegd"
    )
    assert lines[2].startswith("eerste gebroken record: ")
    assert lines[3] == "11 schakels gecontroleerd"


def test_commands_do_not_create_a_missing_database(
    tmp_path: Path, config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "counter.sqlite3"
    config = str(config_file(f'[database]\npath = "{missing}"\n', name="missing.toml"))
    assert main(["--config", config, "verify"]) == 1
    assert capsys.readouterr().err == (
        f"counter: Er is geen database van de weegbalie op {missing}.\n"
    )
    assert main(["--config", config, "totals", "--day", "2024-05-14"]) == 1
    assert not missing.parent.exists()


# -- in English --------------------------------------------------------------------------


def test_verify_in_english(
    english_config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", english_config, "verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "File: sound (quick check)",
        "Chain: OK, 11 links checked; nothing changed, removed or inserted",
    ]
    break_the_chain(database)
    assert main(["--config", english_config, "verify"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Chain: BROKEN: drop-off MS01-000001 was changed after it was recorded"
    assert lines[2].startswith("first broken record: ")
    assert lines[3] == "11 links checked"


def test_export_messages_in_english(
    tmp_path: Path, english_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "may.csv"
    assert export_may(english_config, "csv", output) == 0
    assert capsys.readouterr().err == f"4 drop-offs written to {output}\n"

    assert export_may(english_config, "csv", tmp_path / "nonexistent" / "x.csv") == 1
    assert capsys.readouterr().err == (
        f"counter export: cannot write {tmp_path / 'nonexistent' / 'x.csv'}: "
        "No such file or directory\n"
    )

    base = ["--config", english_config, "export", "--format", "csv"]
    assert main([*base, "--from", "2024-13-01", "--to", "2024-05-14"]) == 2
    assert capsys.readouterr().err == (
        "counter: --from: '2024-13-01' is not a date; write it as YYYY-MM-DD, e.g. 2024-05-31\n"
    )
    assert main([*base, "--from", "2024-05-14", "--to", "2024-05-01"]) == 2
    assert capsys.readouterr().err == "counter: --to 2024-05-01 is before --from 2024-05-14\n"
    assert main([*base[:-1], "xlsx", "--from", "2024-05-14", "--to", "2024-05-14"]) == 2
    assert capsys.readouterr().err == (
        "counter: --format xlsx needs --output FILE (a workbook is not text)\n"
    )


def test_one_drop_off_is_not_plural(
    tmp_path: Path,
    config_file: ConfigFile,
    new_database: NewDatabase,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = new_database(tmp_path / "one.sqlite3")
    engine = open_database(path)
    at = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)
    record_drop_off(engine, drop_off("reuse", "furniture", "Meubels", 30000), now=at)
    engine.dispose()
    # One drop-off is two links of the chain: its row and its audit entry.
    for language, written, checked in [
        ("nl", "1 afgifte geschreven naar", "Keten: OK, 2 schakels gecontroleerd;"),
        ("en", "1 drop-off written to", "Chain: OK, 2 links checked;"),
    ]:
        text = f'language = "{language}"\n[database]\npath = "{path}"\n'
        config = str(config_file(text, name=f"{language}.toml"))
        assert export_may(config, "csv", tmp_path / f"{language}.csv") == 0
        assert capsys.readouterr().err.startswith(written)
        assert main(["--config", config, "verify"]) == 0
        assert capsys.readouterr().out.splitlines()[1].startswith(checked)


def test_missing_database_in_english(
    tmp_path: Path, config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "counter.sqlite3"
    text = f'language = "en"\n[database]\npath = "{missing}"\n'
    config = str(config_file(text, name="missing.toml"))
    assert main(["--config", config, "totals", "--day", "2024-05-14"]) == 1
    assert capsys.readouterr().err == f"counter: There is no counter database at {missing}.\n"


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--from", "2024-05-01", "--to", "2024-05-31", "--format", "csv"],
        ["export", "--from", "2024-05-01", "--to", "2024-05-31", "--format", "json"],
        ["totals", "--day", "2024-05-14", "--format", "json"],
    ],
    ids=["export-csv", "export-json", "totals-json"],
)
def test_what_programs_read_is_the_same_in_every_language(
    config: str, english_config: str, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    dutch = run_main(["--config", config, *command], capsys)
    english = run_main(["--config", english_config, *command], capsys)
    assert dutch[0] == english[0] == 0
    assert dutch[1].encode("utf-8") == english[1].encode("utf-8")
    assert "30.000" in dutch[1]  # kilograms for programs: a point, three decimals


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exported_files_are_the_same_in_every_language(
    tmp_path: Path, config: str, english_config: str, fmt: str
) -> None:
    assert export_may(config, fmt, tmp_path / f"nl.{fmt}") == 0
    assert export_may(english_config, fmt, tmp_path / f"en.{fmt}") == 0
    assert (tmp_path / f"nl.{fmt}").read_bytes() == (tmp_path / f"en.{fmt}").read_bytes()
    if fmt == "csv":
        assert (tmp_path / "nl.csv").read_text(encoding="utf-8").splitlines()[0] == HEADER


# -- an output file that cannot be written ----------------------------------------------

needs_posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def export_may(config: str, fmt: str, output: Path | str) -> int:
    return main(
        [
            "--config",
            config,
            "export",
            "--from",
            "2024-05-01",
            "--to",
            "2024-05-31",
            "--format",
            fmt,
            "--output",
            str(output),
        ]
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_to_a_missing_folder_says_so(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    output = tmp_path / "nonexistent" / "dir" / f"x.{fmt}"
    assert export_may(config, fmt, output) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"counter export: kan {output} niet schrijven: No such file or directory\n"
    )
    assert captured.out == ""
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_onto_a_folder_says_so_and_leaves_nothing(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    assert export_may(config, fmt, folder) == 1
    assert (
        capsys.readouterr().err == f"counter export: kan {folder} niet schrijven: Is a directory\n"
    )
    assert folder.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "data", "exports"]


@pytest.fixture(scope="module")
def large_export_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database whose May export (csv about 70 kB, json about 190 kB) is larger than
    the file size limit below, while reading it writes far less (the WAL index)."""
    folder = tmp_path_factory.mktemp("large")
    make_large_database(folder / "counter.sqlite3", 500)
    config = folder / "config.toml"
    config.write_text(f'[database]\npath = "{folder / "counter.sqlite3"}"\n', encoding="utf-8")
    return str(config)


#: The formats written half way; ``--output`` of each goes in its own folder.
HALF_WAY_FORMATS = ("csv", "json")


@pytest.fixture(scope="module")
def half_way_exports(
    tmp_path_factory: pytest.TempPathFactory, large_export_config: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Every format exported under a file size limit, as a full disk would stop it: in
    one process (the limit is the process's own; a new interpreter costs a second of
    CPU), over a new file and over an earlier export of each format."""
    folder = tmp_path_factory.mktemp("half-way")
    outputs = []
    for fmt in HALF_WAY_FORMATS:
        (folder / fmt).mkdir()
        (folder / fmt / f"april.{fmt}").write_text("the April export\n", encoding="utf-8")
        outputs += [
            (fmt, str(folder / fmt / f"may.{fmt}")),
            (fmt, str(folder / fmt / f"april.{fmt}")),
        ]
    code = (
        "import json, resource, signal, sys\n"
        "from counter_app.cli import main\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (48_000, 48_000))\n"
        "codes = [main(['--config', sys.argv[1], 'export', '--from', '2024-05-01',\n"
        "               '--to', '2024-05-31', '--format', fmt, '--output', path,\n"
        "               '--force'])\n"
        "         for fmt, path in json.loads(sys.argv[2])]\n"
        "sys.exit(max(codes))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, large_export_config, json.dumps(outputs)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    return folder, result


@needs_posix
@pytest.mark.parametrize("fmt", HALF_WAY_FORMATS)
def test_a_write_that_fails_half_way_leaves_no_partial_file(
    half_way_exports: tuple[Path, subprocess.CompletedProcess[str]], fmt: str
) -> None:
    """A real failure mid-write: a file size limit stops it, as a full disk would."""
    folder, result = half_way_exports
    earlier = folder / fmt / f"april.{fmt}"
    assert result.returncode == 1, result.stderr
    # Said for each file, and nothing else said.
    assert result.stderr.splitlines() == [
        f"counter export: kan {folder / written / name} niet schrijven: File too large"
        for written in HALF_WAY_FORMATS
        for name in (f"may.{written}", f"april.{written}")
    ]
    # Neither a half file under the new name nor a damaged earlier export.
    assert sorted(p.name for p in (folder / fmt).iterdir()) == [earlier.name]
    assert earlier.read_text(encoding="utf-8") == "the April export\n"


@needs_posix
def test_a_replaced_export_keeps_its_permissions(tmp_path: Path, config: str) -> None:
    assert export_may(config, "csv", tmp_path / "may.csv") == 0
    (tmp_path / "may.csv").chmod(0o640)
    assert main([*export_args(config, "csv", tmp_path / "may.csv"), "--force"]) == 0
    assert stat.S_IMODE((tmp_path / "may.csv").stat().st_mode) == 0o640
    assert (tmp_path / "may.csv").read_text(encoding="utf-8").startswith(HEADER)


@needs_posix
def test_export_into_a_pipe_writes_through_it(tmp_path: Path, config: str) -> None:
    """A pipe or device (/dev/stdout) is written to, never replaced by a file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert export_may(config, "csv", fifo) == 0
    reader.join(timeout=10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].decode("utf-8").startswith(HEADER)


# -- the output never overwrites a database or an earlier file ---------------------------


def run_counter(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``counter`` command in a subprocess: what a supervisor sees, tracebacks too."""
    return subprocess.run(
        [sys.executable, "-m", "counter_app.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def export_args(config: str, fmt: str, output: Path | str, *extra: str) -> list[str]:
    return [
        "--config",
        config,
        "export",
        "--from",
        "2024-05-01",
        "--to",
        "2024-05-31",
        "--format",
        fmt,
        "--output",
        str(output),
        *extra,
    ]


def count_drop_offs(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM drop_off").fetchone()[0])


@needs_posix
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
@pytest.mark.parametrize("which", ["database", "-wal", "-shm", "symlink", "other-sqlite"])
def test_export_never_overwrites_a_database(
    tmp_path: Path,
    config: str,
    database: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    which: str,
) -> None:
    """Not the counter's database, its -wal or -shm, nor any other SQLite file, even
    with --force and while the counter has the database open."""
    running = open_database(database)  # the counter runs: -wal and -shm exist
    try:
        record_drop_off(running, drop_off("reuse", "furniture", "Meubels", 1000))
        other = tmp_path / "other.db"
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
        link = tmp_path / "innocent.csv"
        link.symlink_to(database)
        output = {
            "database": database,
            "-wal": Path(f"{database}-wal"),
            "-shm": Path(f"{database}-shm"),
            "symlink": link,
            "other-sqlite": other,
        }[which]
        before = output.resolve().read_bytes()
        for force in ([], ["--force"]):
            assert main(export_args(config, fmt, output, *force)) == 1
            captured = capsys.readouterr()
            assert captured.err == (
                f"counter export: {output} is een SQLite-database of hoort bij een; een "
                "export overschrijft die nooit. Kies een andere bestandsnaam.\n"
            )
            assert output.resolve().read_bytes() == before
        assert link.is_symlink()
    finally:
        running.dispose()
    assert count_drop_offs(database) == 6
    assert main(["--config", config, "verify"]) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_refuses_an_existing_file_unless_forced(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    output = tmp_path / f"april.{fmt}"
    output.write_text("the April export\n", encoding="utf-8")
    assert main(export_args(config, fmt, output)) == 1
    assert capsys.readouterr().err == (
        f"counter export: {output} bestaat al; kies een andere bestandsnaam, "
        "of vervang het bestand met --force\n"
    )
    assert output.read_text(encoding="utf-8") == "the April export\n"
    assert main(export_args(config, fmt, output, "--force")) == 0
    assert capsys.readouterr().err == f"4 afgiften geschreven naar {output}\n"
    assert output.read_bytes() != b"the April export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["config.toml", "data", output.name]
    )


def test_export_to_a_dash_writes_standard_output(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(export_args(config, "csv", "-")) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == HEADER
    assert len(captured.out.splitlines()) == 5
    assert not Path("-").exists()
    assert main(export_args(config, "xlsx", "-")) == 2
    assert "--format xlsx heeft --output BESTAND nodig" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_to_a_full_device_says_so_without_a_traceback(
    config: str, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    message = "counter export: kan /dev/full niet schrijven: No space left on device\n"
    assert main(export_args(config, fmt, "/dev/full")) == 1
    assert capsys.readouterr() == ("", message)
    if fmt == "xlsx":
        # The whole process: a half-written workbook once left a traceback at exit.
        result = run_counter(*export_args(config, fmt, "/dev/full"))
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message)


@needs_posix
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_a_new_export_is_readable_by_its_owner_only(tmp_path: Path, config: str, fmt: str) -> None:
    umask = os.umask(0o022)
    try:
        assert export_may(config, fmt, tmp_path / f"may.{fmt}") == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / f"may.{fmt}").stat().st_mode) == 0o600


# -- dates the counter cannot have recorded -----------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--from", "0001-01-01", "--to", "2024-05-31", "--format", "csv"],
        ["export", "--from", "2024-05-01", "--to", "9999-12-31", "--format", "json"],
        ["totals", "--day", "9999-12-31"],
        ["totals", "--day", "1999-12-31", "--format", "json"],
    ],
)
def test_a_day_outside_the_counter_years_is_a_usage_error(
    config: str, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(["--config", config, *command]) == 2
    option, day = (
        ("--day", command[2])
        if command[0] == "totals"
        else (("--from", command[2]) if command[2] < "2000" else ("--to", command[4]))
    )
    assert capsys.readouterr() == (
        "",
        f"counter: {option}: {day} ligt buiten de jaren die de weegbalie kan hebben "
        "geregistreerd; kies een dag van 2000-01-01 tot en met 2999-12-31\n",
    )


# -- a damaged database ---------------------------------------------------------------------


def make_large_database(path: Path, count: int) -> None:
    """``count`` drop-offs on 14 May 2024: one recorded the usual way, the rest copies
    of it made in one SQL statement (a real file, quick to build)."""
    engine = open_database(path)
    at = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)
    record_drop_off(engine, drop_off("reuse", "furniture", "Meubels", 30000), now=at)
    engine.dispose()
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(drop_off)")]
        changed = {
            "id": "printf('copy-%031d', n)",  # as long as a UUID
            "chain_seq": "n + 1",
            "label_no": "n + 1",
            "label_code": "printf('MS01-%06d', n + 1)",
            "content_hash": "'hash-' || n",
        }
        connection.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq "
            f"WHERE n < {count - 1}) INSERT INTO drop_off ({', '.join(columns)}) "
            f"SELECT {', '.join(changed.get(c, c) for c in columns)} FROM drop_off, seq"
        )
    connection.close()


def damage_pages(path: Path, kind: str) -> None:
    """Damage the file the way a failing disk does, byte by byte.

    ``kind="index"``: the indexes on ``drop_off.recorded_at`` and ``drop_off.voids_id``
    (those a period's query can go through) each lose the last entry of a leaf page
    (its cell count is lowered by one): rows missing from an index, which
    ``PRAGMA integrity_check`` reports and a query through that index skips silently.
    ``kind="index-page"``: a leaf page of each of those indexes gets an invalid page
    type, and ``kind="table"`` one of ``drop_off`` itself: "database disk image is
    malformed" on reading it (the table already when the database is opened).
    """
    with sqlite3.connect(path) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        if kind.startswith("index"):
            names = [
                name
                for (_, name, *_) in connection.execute("PRAGMA index_list(drop_off)")
                if [column for (_, _, column) in connection.execute(f"PRAGMA index_info({name})")]
                in (["recorded_at"], ["voids_id"])
            ]
            assert len(names) == 2
        else:
            names = ["drop_off"]
        roots = [
            connection.execute(
                "SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)
            ).fetchone()[0]
            for name in names
        ]
    connection.close()
    data = bytearray(path.read_bytes())
    interior, leaf = (0x02, 0x0A) if kind.startswith("index") else (0x05, 0x0D)
    for page in roots:
        while True:
            base = (page - 1) * page_size
            header = base + (100 if page == 1 else 0)
            if data[header] == leaf:
                if kind == "index":
                    cells = int.from_bytes(data[header + 3 : header + 5], "big")
                    data[header + 3 : header + 5] = (cells - 1).to_bytes(2, "big")
                else:
                    data[header] = 0x42
                break
            assert data[header] == interior
            # Down the last child: its leaf holds the newest rows.
            page = int.from_bytes(data[header + 8 : header + 12], "big")
    path.write_bytes(bytes(data))
    with sqlite3.connect(path) as connection:
        try:
            problems = connection.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            problems = [(str(exc),)]
    connection.close()
    assert problems != [("ok",)]


@pytest.fixture
def damaged_index_config(tmp_path: Path, config_file: ConfigFile, new_database: NewDatabase) -> str:
    path = tmp_path / "damaged" / "counter.sqlite3"
    path.parent.mkdir()
    make_large_database(new_database(path), 1500)
    damage_pages(path, "index")
    return str(config_file(f'[database]\npath = "{path}"\n', name="damaged.toml"))


ROWS_MISSING = (
    "counter export: de database gaf 1499 van de 1500 afgiften van deze periode; "
    "een index in de database is beschadigd. Er is niets geschreven. Laat een technicus "
    "de database nakijken en herstellen (REINDEX) of zet een back-up terug.\n"
)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_from_a_damaged_index_fails_and_writes_nothing(
    tmp_path: Path, damaged_index_config: str, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """A query through a damaged index silently skips rows; the export must not."""
    output = tmp_path / f"may.{fmt}"
    assert main(export_args(damaged_index_config, fmt, output)) == 1
    assert capsys.readouterr() == ("", ROWS_MISSING)
    assert not output.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged", "damaged.toml"]


def test_export_to_standard_output_from_a_damaged_index_prints_no_rows(
    damaged_index_config: str,
) -> None:
    result = run_counter(
        "--config",
        damaged_index_config,
        "export",
        "--from",
        "2024-05-14",
        "--to",
        "2024-05-14",
        "--format",
        "csv",
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "", ROWS_MISSING)


@pytest.fixture(params=["table", "index-page"])
def malformed_config(
    tmp_path: Path,
    config_file: ConfigFile,
    new_database: NewDatabase,
    request: pytest.FixtureRequest,
) -> str:
    path = tmp_path / "malformed" / "counter.sqlite3"
    path.parent.mkdir()
    make_large_database(new_database(path), 1500)
    damage_pages(path, request.param)
    return str(config_file(f'[database]\npath = "{path}"\n', name="malformed.toml"))


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--from", "2024-05-14", "--to", "2024-05-14", "--format", "csv"],
        [
            "export",
            "--from",
            "2024-05-14",
            "--to",
            "2024-05-14",
            "--format",
            "xlsx",
            "--output",
            "{tmp}/may.xlsx",
        ],
        ["totals", "--day", "2024-05-14"],
        ["totals", "--day", "2024-05-14", "--format", "json"],
    ],
)
def test_a_malformed_database_is_reported_without_a_traceback(
    tmp_path: Path, malformed_config: str, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    command = [part.replace("{tmp}", str(tmp_path)) for part in command]
    assert main(["--config", malformed_config, *command]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("counter: De database is niet te gebruiken: ")
    assert "database disk image is malformed" in captured.err
    assert len(captured.err.splitlines()) == 1
    assert not (tmp_path / "may.xlsx").exists()


def test_a_damaged_page_found_while_reading_says_what_to_do(
    tmp_path: Path,
    config_file: ConfigFile,
    new_database: NewDatabase,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "malformed" / "counter.sqlite3"
    path.parent.mkdir()
    make_large_database(new_database(path), 1500)
    damage_pages(path, "index-page")
    config = str(config_file(f'[database]\npath = "{path}"\n', name="malformed.toml"))
    for command in (
        ["export", "--from", "2024-05-14", "--to", "2024-05-14", "--format", "json"],
        ["totals", "--day", "2024-05-14"],
    ):
        assert main(["--config", config, *command]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"counter: De database is niet te gebruiken: The database {path} refused the "
            "query: database disk image is malformed. Laat een technicus het bestand "
            "nakijken (counter verify) of zet een back-up terug.\n"
        )


# -- formula injection ------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-1+1", "@SUM(A1)", "\tx", "\rx"]


@pytest.fixture
def formula_config(tmp_path: Path, config_file: ConfigFile, new_database: NewDatabase) -> str:
    path = new_database(tmp_path / "formula" / "counter.sqlite3")
    engine = open_database(path)
    at = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)
    for operator in FORMULAS:
        new = drop_off("reuse", "furniture", "Meubels", 30000)
        new = dataclasses.replace(new, operator=operator, visit_id=operator)
        record_drop_off(engine, new, now=at)
    engine.dispose()
    return str(config_file(f'[database]\npath = "{path}"\n', name="formula.toml"))


def test_formulas_in_text_go_out_as_text(
    tmp_path: Path, formula_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(export_args(formula_config, "csv", tmp_path / "may.csv")) == 0
    with (tmp_path / "may.csv").open(encoding="utf-8", newline="") as stream:
        parsed = list(csv.DictReader(stream))
    assert [row["operator"] for row in parsed] == [f"'{text}" for text in FORMULAS]
    assert [row["visit_id"] for row in parsed] == [f"'{text}" for text in FORMULAS]
    assert [row["weight_kg"] for row in parsed] == ["30.000"] * len(FORMULAS)

    assert main(export_args(formula_config, "xlsx", tmp_path / "may.xlsx")) == 0
    sheet = load_workbook(tmp_path / "may.xlsx")["drop-offs"]
    operator = EXPORT_COLUMNS.index("operator") + 1
    cells_ = [sheet.cell(row=r, column=operator) for r in range(2, 2 + len(FORMULAS))]
    # (XML keeps no carriage return: it comes back as a line feed, still after the ').
    assert [c.value for c in cells_] == [f"'{text}".replace("\r", "\n") for text in FORMULAS]
    assert {c.data_type for c in cells_} == {"s"}
    weight = sheet.cell(row=2, column=EXPORT_COLUMNS.index("weight_kg") + 1)
    assert weight.data_type == "n"

    # JSON is data, not a spreadsheet: unaltered.
    assert main(export_args(formula_config, "json", tmp_path / "may.json")) == 0
    data = json.loads((tmp_path / "may.json").read_text(encoding="utf-8"))
    assert [row["operator"] for row in data["drop_offs"]] == FORMULAS
    capsys.readouterr()
