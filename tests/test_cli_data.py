"""``counter export``, ``counter totals`` and ``counter verify``, run through ``main``.

The words are Dutch by default and English with ``language = "en"``; what a program
reads (CSV, XLSX, JSON) is the same in both.
"""

from __future__ import annotations

import json
import os
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
from db.engine import open_database
from db.export import EXPORT_COLUMNS
from db.records import NewDropOff, NewReading, record_drop_off, void_drop_off

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


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "counter.sqlite3"
    engine = open_database(path)
    at = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)  # 10:30 in Amsterdam
    record_drop_off(engine, drop_off("reuse", "furniture", "Meubels", 30000), now=at)
    record_drop_off(engine, drop_off("repair", "bicycles", "Fietsen", 15000), now=at)
    record_drop_off(engine, drop_off("recycling", "metaal", "Metalen", 55000), now=at)
    wrong = record_drop_off(engine, drop_off("recycling", "metaal", "Metalen", 9000), now=at)
    void_drop_off(engine, wrong.id, "teamleider", "weighed twice", now=at)
    engine.dispose()
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
    assert lines[1].endswith(",reuse,furniture,,30.000,scale,anna,false")
    assert ",2024-05-14T10:30:00+02:00," in lines[1]
    assert lines[4].endswith(",recycling,metaal,20 01 40,9.000,scale,anna,true")


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
    data = json.loads(output.read_text(encoding="utf-8"))
    assert [row["weight_kg"] for row in data] == ["30.000", "15.000", "55.000", "9.000"]
    assert [row["voided"] for row in data] == [False, False, False, True]


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
    assert out.splitlines()[-3:] == [
        "Aandeel hergebruik: 30,0 %",
        "Aandeel hergebruik en reparatie: 45,0 %",
        "Vervallen afgiften (niet meegeteld): 1",
    ]
    assert "." not in out.replace("20 01 40", "")  # no decimal point anywhere


def test_totals_table_in_english(english_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", english_config, "totals", "--day", "2024-05-14"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Totals for 2024-05-14" in out
    assert cells(out, "Classification") == ["Classification", "kg", "Drop-offs", "Share"]
    assert cells(out, "Reuse") == ["Reuse", "30.00", "1", "30.0 %"]
    assert cells(out, "Total") == ["Total", "100.00", "3", ""]
    assert "Per category and fraction" in out
    assert out.splitlines()[-3:] == [
        "Reuse share: 30.0 %",
        "Reuse and repair share: 45.0 %",
        "Voided drop-offs (not counted): 1",
    ]


def test_totals_table_shows_every_gram(
    tmp_path: Path, config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two decimals hide a gram: then every number in the table gets three."""
    path = tmp_path / "grams.sqlite3"
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
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["day"] == "2024-05-14"
    assert data["total_kg"] == "100.000"
    assert data["count"] == 3
    assert data["voided_count"] == 1
    assert data["reuse_share"] == "0.3000"
    assert data["reuse_repair_share"] == "0.4500"
    assert data["classifications"]["recycling"] == {"kg": "55.000", "count": 1, "share": "0.5500"}
    assert data["categories"][0] == {
        "classification": "reuse",
        "category_code": "furniture",
        "category_name": "Meubels",
        "eural_code": None,
        "kg": "30.000",
        "count": 1,
    }


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
    tmp_path: Path, config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.sqlite3"
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
    engine = open_database(folder / "counter.sqlite3")
    at = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)
    for _ in range(500):
        record_drop_off(engine, drop_off("reuse", "furniture", "Meubels", 30000), now=at)
    engine.dispose()
    config = folder / "config.toml"
    config.write_text(f'[database]\npath = "{folder / "counter.sqlite3"}"\n', encoding="utf-8")
    return str(config)


@needs_posix
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_write_that_fails_half_way_leaves_no_partial_file(
    tmp_path: Path, large_export_config: str, fmt: str
) -> None:
    """A real failure mid-write: a file size limit stops it, as a full disk would."""
    output = tmp_path / f"may.{fmt}"
    earlier = tmp_path / f"april.{fmt}"
    earlier.write_text("the April export\n", encoding="utf-8")
    code = (
        "import resource, signal, sys\n"
        "from counter_app.cli import main\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (48_000, 48_000))\n"
        "codes = [main(['--config', sys.argv[1], 'export', '--from', '2024-05-01',\n"
        "               '--to', '2024-05-31', '--format', sys.argv[2], '--output', path])\n"
        "         for path in sys.argv[3:]]\n"
        "sys.exit(max(codes))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, large_export_config, fmt, str(output), str(earlier)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"counter export: kan {output} niet schrijven: File too large",
        f"counter export: kan {earlier} niet schrijven: File too large",
    ]
    # Neither a half file under the new name nor a damaged earlier export.
    assert sorted(p.name for p in tmp_path.iterdir()) == [earlier.name]
    assert earlier.read_text(encoding="utf-8") == "the April export\n"


@needs_posix
def test_an_exported_file_gets_the_usual_permissions(tmp_path: Path, config: str) -> None:
    umask = os.umask(0o027)
    try:
        assert export_may(config, "csv", tmp_path / "may.csv") == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "may.csv").stat().st_mode) == 0o640
    (tmp_path / "may.csv").chmod(0o600)
    assert export_may(config, "csv", tmp_path / "may.csv") == 0  # written again: kept
    assert stat.S_IMODE((tmp_path / "may.csv").stat().st_mode) == 0o600
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
