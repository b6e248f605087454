"""``counter void`` and ``counter correct``, run through ``main`` and as a real process.

Dutch by default, English with ``language = "en"``. A refusal records nothing; a
process killed while its void waits for the write lock leaves the void whole or not
at all, and ``counter verify`` passes after voids and corrections.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from drop_offs import scale_drop_off

from counter_app.cli import main
from db.engine import open_database
from db.writes import record_drop_off
from tests.conftest import NewDatabase

ConfigFile = Callable[..., Path]  # the config_file fixture of conftest.py
ROOT = Path(__file__).resolve().parents[1]
AT = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, new_database: NewDatabase) -> Path:
    path = new_database(tmp_path / "data" / "counter.sqlite3")
    engine = open_database(path)
    for grams in (12340, 5000, 7000):
        record_drop_off(engine, scale_drop_off(grams), now=AT)
    engine.dispose()
    return path


@pytest.fixture
def config(config_file: ConfigFile, database: Path) -> str:
    return str(config_file(f'[database]\npath = "{database}"\n[scale]\ncapacity_kg = "600"\n'))


@pytest.fixture
def english_config(config_file: ConfigFile, database: Path) -> str:
    text = f'language = "en"\n[database]\npath = "{database}"\n'
    return str(config_file(text, name="english.toml"))


def run(config: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", config, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stored(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {
            "drop_offs": connection.execute(
                "SELECT count(*) FROM drop_off WHERE voids_id IS NULL"
            ).fetchone()[0],
            "voids": connection.execute(
                "SELECT count(*) FROM drop_off WHERE voids_id IS NOT NULL"
            ).fetchone()[0],
            "audit": connection.execute("SELECT count(*) FROM audit_entry").fetchone()[0],
            "jobs": connection.execute("SELECT count(*) FROM print_job").fetchone()[0],
        }


def test_void_then_verify(config: str, database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(config, capsys, "void", "MS01-000002", "--reason", "Dubbel gewogen")

    assert (code, err) == (0, "")
    assert out == "Vervallen: MS01-000002 (5,00 kg, Metalen). Reden: Dubbel gewogen\n"
    assert stored(database)["voids"] == 1
    with sqlite3.connect(database) as connection:
        assert connection.execute(
            "SELECT operator, reason FROM drop_off WHERE voids_id IS NOT NULL"
        ).fetchone() == ("supervisor", "Dubbel gewogen")
    code, out, _ = run(config, capsys, "verify")
    assert code == 0, out


def test_correct_category_and_typed_weight_then_verify_and_totals(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        config,
        capsys,
        "correct",
        "MS01-000001",
        "--category",
        "reuse:meubels",
        "--weight",
        "12,5",
        "--reason",
        "Verkeerde classificatie",
    )

    assert (code, err) == (0, "")
    assert out == (
        "Gecorrigeerd: MS01-000001 is vervallen; MS01-000004 vervangt het "
        "(12,50 kg, Meubels). Het etiket wacht in de afdrukwachtrij van station MS01.\n"
    )
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT classification, category_code, weight_grams, weight_source, reason"
            " FROM drop_off WHERE label_code = 'MS01-000004'"
        ).fetchone()
        job = connection.execute(
            "SELECT p.status, p.station_id FROM print_job p JOIN drop_off d"
            " ON d.id = p.drop_off_id WHERE d.label_code = 'MS01-000004'"
        ).fetchone()
    assert row == ("reuse", "meubels", 12500, "manual", "Verkeerde classificatie")
    assert job == ("queued", "MS01")
    code, out, _ = run(config, capsys, "verify")
    assert code == 0, out
    code, out, _ = run(config, capsys, "totals", "--day", "2024-05-14", "--format", "json")
    assert code == 0
    assert '"total_kg": 24.500' in out  # 12.5 + 5 + 7: the correction, not the original
    # The dot works as well as the comma.
    code, _, err = run(
        config, capsys, "correct", "MS01-000002", "--weight", "4.75", "--reason", "Anders"
    )
    assert (code, err) == (0, "")


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["void", "MS01-000009", "--reason", "Anders"], 1, "Geen afgifte met code MS01-000009"),
        (["void", "MS01-000001", "--reason", "  "], 2, "Geef een reden op"),
        (["correct", "MS01-000001", "--reason", "Anders"], 2, "geef --category, --weight"),
        (
            ["correct", "MS01-000001", "--weight", "12,5kg", "--reason", "Anders"],
            2,
            "Geen geldig gewicht: 12,5kg",
        ),
        (
            ["correct", "MS01-000001", "--weight", "0", "--reason", "Anders"],
            2,
            "meer dan nul",
        ),
        (
            ["correct", "MS01-000001", "--weight", "-3", "--reason", "Anders"],
            2,
            "meer dan nul",
        ),
        (
            ["correct", "MS01-000001", "--weight", "601", "--reason", "Anders"],
            2,
            "601 kg is meer dan de weegschaal kan wegen (600,00 kg)",
        ),
        (
            ["correct", "MS01-000001", "--category", "kaas", "--reason", "Anders"],
            2,
            "onbekende categorie kaas",
        ),
        (
            ["correct", "MS01-000001", "--category", "meubels", "--reason", "Anders"],
            2,
            "categorie meubels bestaat bij reuse, repair",
        ),
        (
            ["correct", "MS01-000001", "--category", "metaal", "--reason", "Anders"],
            1,
            "MS01-000001 heeft deze categorie en dit gewicht al",
        ),
    ],
)
def test_bad_input_is_refused_with_words_and_records_nothing(
    config: str,
    database: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    words: str,
) -> None:
    before = stored(database)

    got, out, err = run(config, capsys, *args)

    assert got == code
    assert out == ""
    assert err.startswith("counter: ")
    assert words in err
    assert stored(database) == before


def test_voided_and_corrected_records_are_refused(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, capsys, "void", "MS01-000002", "--reason", "Proefweging")[0] == 0
    assert run(config, capsys, "correct", "MS01-000003", "--weight", "8", "--reason", "x")[0] == 0
    before = stored(database)

    code, _, err = run(config, capsys, "void", "MS01-000002", "--reason", "Anders")
    assert (code, err) == (1, "counter: MS01-000002 is al vervallen; er is niets vastgelegd\n")
    code, _, err = run(config, capsys, "correct", "MS01-000002", "--weight", "1", "--reason", "x")
    assert (code, err) == (1, "counter: MS01-000002 is al vervallen; er is niets vastgelegd\n")
    code, _, err = run(config, capsys, "correct", "MS01-000003", "--weight", "9", "--reason", "x")
    assert code == 1
    assert "MS01-000003 is al gecorrigeerd door MS01-000004" in err
    assert stored(database) == before


def test_english(english_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(english_config, capsys, "void", "MS01-000002", "--reason", "test")
    assert out == "Voided: MS01-000002 (5.00 kg, Metalen). Reason: test\n"
    code, _, err = run(english_config, capsys, "void", "MS01-000002", "--reason", "test")
    assert (code, err) == (1, "counter: MS01-000002 was voided already; nothing was recorded\n")
    code, _, err = run(english_config, capsys, "correct", "MS01-000001", "--reason", "x")
    assert code == 2
    assert "give --category, --weight or both" in err


def test_a_missing_database_is_not_created(
    config_file: ConfigFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "counter.sqlite3"
    config = str(config_file(f'[database]\npath = "{missing}"\n', name="missing.toml"))
    code, _, err = run(config, capsys, "void", "MS01-000001", "--reason", "x")
    assert code == 1
    assert err.startswith("counter: ")
    assert not missing.exists()


# -- killed while the void waits for the write lock ----------------------------------------


def waiting_for_the_write_lock(pid: int, database: Path) -> bool:
    """The process has the database open and sleeps in SQLite's busy handler: its
    void's transaction waits for the write lock the test holds."""
    try:
        opened = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        sleeping = "nanosleep" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False
    return str(database) in opened and sleeping


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("lock", ["held", "released"])
def test_a_void_killed_before_its_commit_is_whole_or_absent(
    config: str, database: Path, capsys: pytest.CaptureFixture[str], lock: str
) -> None:
    before = stored(database)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the counter's write lock, held by "another program"
    command = ["void", "MS01-000002", "--reason", "Dubbel gewogen"]
    child = subprocess.Popen(
        [sys.executable, "-m", "counter_app.cli", "--config", config, *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not waiting_for_the_write_lock(child.pid, database):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the void never reached its transaction"
            time.sleep(0.01)
        if lock == "released":
            holder.execute("COMMIT")  # the commit may now happen, or not, before the kill
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()
        child.stderr.close()

    after = stored(database)
    nothing = after == before
    whole = after == {**before, "voids": 1, "audit": before["audit"] + 2, "jobs": before["jobs"]}
    if lock == "held":
        assert nothing
    else:
        assert nothing or whole, after
    code, out, _ = run(config, capsys, "verify")
    assert code == 0, out
    # Never half: the void can be made (or is made) in full afterwards.
    code, _, err = run(config, capsys, "void", "MS01-000002", "--reason", "Dubbel gewogen")
    assert code == (0 if nothing else 1), err
    assert stored(database)["voids"] == 1
