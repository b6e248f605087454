"""``counter verify``: the file, the chain, anchors; and databases that can only be read.

The read-only cases run the real ``counter`` command on a folder that really is
read-only: as root (which permissions do not stop) in a private mount namespace with a
read-only bind mount, otherwise with the folder's write bits taken away.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from drop_offs import scale_drop_off

from counter_app.cli import main
from db.engine import DatabaseReadOnly, open_database
from db.writes import record_drop_off, void_drop_off
from tests.conftest import ConfigFileFactory, NewDatabase

AT = datetime(2024, 5, 14, 8, 30, tzinfo=UTC)


def fill(path: Path, count: int = 5) -> list[str]:
    engine = open_database(path)
    try:
        return [
            record_drop_off(engine, scale_drop_off(1000 + i), now=AT + timedelta(seconds=i)).id
            for i in range(count)
        ]
    finally:
        engine.dispose()


@pytest.fixture
def database(tmp_path: Path, new_database: NewDatabase) -> Path:
    path = new_database(tmp_path / "data" / "counter.sqlite3")
    fill(path)
    return path


@pytest.fixture
def config(config_file: ConfigFileFactory, database: Path) -> str:
    return str(config_file(f'[database]\npath = "{database}"\n'))


def verify(config: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--config", config, "verify", *args])
    return code, capsys.readouterr().out


def anchor_of(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("Anker van MS01: "))
    return line.removeprefix("Anker van MS01: ")


# -- anchors ------------------------------------------------------------------------------


def test_an_anchor_from_verify_holds_until_the_chain_is_rewritten(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(config, capsys)
    assert code == 0
    anchor = anchor_of(out)
    assert anchor.startswith("MS01:10:")
    # More records later: the old anchor is still part of the chain.
    fill(database, 2)
    code, out = verify(config, capsys, "--anchor", anchor)
    assert code == 0
    assert f"Anker {anchor}: aanwezig; de database bevat die toestand nog" in out
    assert anchor_of(out) != anchor
    # Everything after the third record removed, and the head set back to match:
    # consistent in itself, so only the anchor can tell.
    with sqlite3.connect(database) as connection:
        for trigger in ("drop_off_no_delete", "audit_entry_no_delete", "label_sequence_no_delete"):
            connection.execute(f"DROP TRIGGER {trigger}")
        connection.execute("DROP TRIGGER label_sequence_forward_only")
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("DELETE FROM drop_off WHERE chain_seq > 6")
        connection.execute("DELETE FROM audit_entry WHERE chain_seq > 6")
        connection.execute(
            "UPDATE label_sequence SET last_no = 3, chain_seq = 6, "
            "chain_hash = (SELECT content_hash FROM audit_entry WHERE chain_seq = 6)"
        )
    code, out = verify(config, capsys)
    assert code == 0
    code, out = verify(config, capsys, "--anchor", anchor)
    assert code == 1
    assert (
        f"Keten: GEBROKEN: het anker {anchor} noemt positie 10, maar de keten van MS01 "
        "eindigt bij 6: er zijn records verwijderd"
    ) in out


def test_text_that_is_not_an_anchor_is_a_usage_error(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", config, "verify", "--anchor", "MS01-000003"]) == 2
    assert "STATION:NUMMER:HASH" in capsys.readouterr().err


# -- the file ------------------------------------------------------------------------------


def _page_of(path: Path, index: str) -> int:
    with sqlite3.connect(path) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        root = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)
        ).fetchone()[0]
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return (root - 1) * page_size + 100 if root == 1 else (root - 1) * page_size


def test_a_damaged_index_page_is_reported_apart_from_the_chain(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(database, 300)
    offset = _page_of(database, "ix_drop_off_recorded_at")
    with database.open("r+b") as stream:
        stream.seek(offset + 8)
        stream.write(b"\xff" * 64)
    code, out = verify(config, capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("Bestand: BESCHADIGD (snelle controle); zet een reservekopie terug")
    assert len(lines) > 2, out
    assert any("tree page" in line for line in lines[1:]), out
    # The chain itself does not go through that index and is reported on its own.
    assert any(line.startswith("Keten: ") for line in lines)


def test_full_finds_a_reference_to_a_missing_row(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("UPDATE print_job SET reprint_of = 'no-such-job'")
    code, out = verify(config, capsys)
    assert code == 0  # the quick check does not look at references
    code, out = verify(config, capsys, "--full")
    assert code == 1
    assert out.splitlines()[0] == (
        "Bestand: BESCHADIGD (volledige controle); zet een reservekopie terug. SQLite meldt:"
    )
    assert "points at a missing row of print_job" in out


def test_a_file_that_is_not_a_database_is_said_not_traced(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    data = bytearray(database.read_bytes())
    data[100:4096] = b"\x00" * (4096 - 100)  # the schema page's cells are gone
    database.write_bytes(bytes(data))
    code = main(["--config", config, "verify"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.out + captured.err
    assert captured.out + captured.err


# -- files only this user can read ---------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_new_database_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "counter.sqlite3"
    engine = open_database(path)
    try:
        record_drop_off(engine, scale_drop_off(), now=AT)
        wal = Path(f"{path}-wal")
        assert wal.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    finally:
        engine.dispose()
    assert not list(path.parent.glob(".*.new*"))


# -- read-only databases -------------------------------------------------------------------


def _read_only_runner(folder: Path) -> list[str]:
    """The command prefix that runs a program with ``folder`` read-only."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("as root, a read-only folder needs unshare and mount")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("as root, a read-only folder needs a mount namespace (unshare -m)")
    return [
        "unshare",
        "-m",
        "sh",
        "-c",
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
        "sh",
        str(folder),
    ]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    folder = tmp_path / "archive"
    folder.mkdir()
    prefix = _read_only_runner(folder)
    yield folder, prefix
    os.chmod(folder, 0o755)


def _run(prefix: list[str], folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    (result,) = _run_each(prefix, folder, [list(argv)])
    return result


#: ``counter``'s main with each command line in turn, in one interpreter: its status,
#: standard output and error, as JSON.
_COMMANDS = """
import contextlib, io, json, sys
from counter_app.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit:
            status = exit.code
    results.append([argv, status, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def _run_each(
    prefix: list[str], folder: Path, commands: list[list[str]]
) -> list[subprocess.CompletedProcess[str]]:
    """Each command as ``counter`` runs it, with ``folder`` read-only: one new
    interpreter for all of them (each costs a second or more of CPU, SQLAlchemy's
    import for the most part), each command its own opening of the database."""
    if not prefix:
        os.chmod(folder, 0o555)
    try:
        ran = subprocess.run(
            [*prefix, sys.executable, "-c", _COMMANDS, json.dumps(commands)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COUNTER_LANGUAGE": ""},
        )
    finally:
        if not prefix:
            os.chmod(folder, 0o755)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return [
        subprocess.CompletedProcess(argv, status, out, err)
        for argv, status, out, err in json.loads(ran.stdout.splitlines()[-1])
    ]


def _archive(database: Path, folder: Path) -> tuple[Path, Path]:
    copy = folder / "counter.sqlite3"
    source, target = sqlite3.connect(database), sqlite3.connect(copy)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = WAL")
    finally:
        source.close()
        target.close()
    assert sorted(path.name for path in folder.iterdir()) == ["counter.sqlite3"]
    config = folder.parent / "archive.toml"
    config.write_text(f'[database]\npath = "{copy}"\n', encoding="utf-8")
    if os.geteuid() != 0:
        os.chmod(copy, 0o444)
    return copy, config


def test_an_archived_copy_on_a_read_only_folder_can_be_verified_and_exported(
    database: Path, read_only: tuple[Path, list[str]]
) -> None:
    folder, prefix = read_only
    _copy, config = _archive(database, folder)
    on_the_copy = ["--config", str(config)]
    day = ["--from", "2024-05-14", "--to", "2024-05-14"]
    verified, exported, totals = _run_each(
        prefix,
        folder,
        [
            [*on_the_copy, "verify"],
            [*on_the_copy, "export", *day, "--format", "csv"],
            [*on_the_copy, "totals", "--day", "2024-05-14"],
        ],
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Keten: OK, 10 schakels gecontroleerd" in verified.stdout
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 6  # the header and five drop-offs
    assert totals.returncode == 0, totals.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["counter.sqlite3"]


def test_the_counter_says_it_cannot_record_to_a_read_only_database(
    database: Path, read_only: tuple[Path, list[str]]
) -> None:
    folder, prefix = read_only
    copy, _config = _archive(database, folder)
    code = (
        "import sys\n"
        "from db.engine import open_database, DatabaseReadOnly\n"
        "try:\n"
        f"    open_database({str(copy)!r})\n"
        "except DatabaseReadOnly as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    if not prefix:
        os.chmod(folder, 0o555)
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
    finally:
        os.chmod(folder, 0o755)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "cannot record to it" in result.stdout
    assert str(copy) in result.stdout


def test_a_read_only_copy_with_unread_wal_records_is_refused_with_words(
    tmp_path: Path, read_only: tuple[Path, list[str]]
) -> None:
    folder, prefix = read_only
    source = tmp_path / "live.sqlite3"
    fill(source, 2)
    live = sqlite3.connect(source)
    try:
        live.execute("PRAGMA wal_autocheckpoint = 0")
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        live.execute("DROP TRIGGER label_sequence_forward_only")  # a write that stays in the WAL
        live.commit()
        shutil.copy(source, folder / "counter.sqlite3")
        shutil.copy(f"{source}-wal", folder / "counter.sqlite3-wal")
    finally:
        live.close()
    config = tmp_path / "wal.toml"
    config.write_text(f'[database]\npath = "{folder / "counter.sqlite3"}"\n', encoding="utf-8")
    commands = [["verify"], ["totals", "--day", "2024-05-14"]]
    results = _run_each(prefix, folder, [["--config", str(config), *c] for c in commands])
    for command, result in zip(commands, results, strict=True):
        assert result.returncode == 1, command
        assert "-wal" in result.stderr, command
        assert "Traceback" not in result.stderr, command


def test_opening_for_writing_on_a_read_only_folder_raises_read_only(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through permissions; the subprocess tests cover it")
    folder = tmp_path / "ro"
    folder.mkdir()
    fill(folder / "counter.sqlite3", 1)
    os.chmod(folder, 0o555)
    os.chmod(folder / "counter.sqlite3", 0o444)
    try:
        with pytest.raises(DatabaseReadOnly, match="cannot record"):
            open_database(folder / "counter.sqlite3")
    finally:
        os.chmod(folder, 0o755)


def test_a_void_is_still_found_in_a_read_only_copy(
    database: Path, read_only: tuple[Path, list[str]]
) -> None:
    engine = open_database(database)
    first = record_drop_off(engine, scale_drop_off(), now=AT + timedelta(hours=1))
    void_drop_off(engine, first.id, "teamleider", "dubbel", now=AT + timedelta(hours=2))
    engine.dispose()
    folder, prefix = read_only
    _copy, config = _archive(database, folder)
    result = _run(prefix, folder, "--config", str(config), "verify")
    assert result.returncode == 0, result.stdout + result.stderr


def test_db_check_runs_the_full_check_of_the_file(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", config, "db", "check"]) == 0
    assert capsys.readouterr().out == "Bestand: in orde (volledige controle)\n"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("UPDATE print_job SET reprint_of = 'no-such-job'")
    assert main(["--config", config, "db", "check"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Bestand: BESCHADIGD (volledige controle)")
    assert "points at a missing row of print_job" in out


# -- --since-last ---------------------------------------------------------------------------


def verified_record(database: Path) -> Path:
    return database.with_name(database.name + ".verified")


def checked_count(output: str) -> int:
    line = next(line for line in output.splitlines() if line.startswith("Keten: OK, "))
    return int(line.split()[2])


def test_since_last_walks_only_the_links_added_since_the_last_verification(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = verified_record(database)
    # No earlier verification: said so, and everything walked (the file too).
    code, out = verify(config, capsys, "--since-last")
    assert code == 0
    assert f"Geen eerdere controle gevonden ({record}): alles wordt gecontroleerd" in out
    assert "Bestand: in orde (snelle controle)" in out
    assert checked_count(out) == 10
    anchor = anchor_of(out)
    assert anchor.startswith("MS01:10:")
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    kept = [line for line in record.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    assert len(kept) == 1 and kept[0].startswith(anchor) and len(kept[0].split(":")[2]) == 64

    fill(database, 2)  # four links more
    code, out = verify(config, capsys, "--since-last")
    assert code == 0
    assert "Alleen gecontroleerd wat sinds de vorige controle is toegevoegd" in out
    assert "Bestand:" not in out
    assert checked_count(out) == 4
    assert anchor_of(out).startswith("MS01:14:")
    # Nothing new: nothing walked, the head still checked against the chain.
    code, out = verify(config, capsys, "--since-last")
    assert code == 0 and checked_count(out) == 0
    # Plain verify ignores the record and walks everything.
    code, out = verify(config, capsys)
    assert code == 0 and checked_count(out) == 14


def test_a_change_in_an_old_link_is_not_seen_by_since_last_but_by_plain_verify(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify(config, capsys)[0] == 0  # keeps the record
    fill(database, 1)
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER drop_off_no_update")
        connection.execute("UPDATE drop_off SET weight_grams = 1 WHERE chain_seq = 3")
    code, out = verify(config, capsys, "--since-last")
    assert code == 0  # a convenience, not proof
    assert checked_count(out) == 2
    code, out = verify(config, capsys)
    assert code == 1
    assert "Keten: GEBROKEN: afgifte MS01-000002 is gewijzigd nadat het was vastgelegd" in out
    code, out = verify(config, capsys, "--full")
    assert code == 1 and "GEBROKEN" in out


def test_a_change_after_the_last_verified_link_is_found_by_since_last(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify(config, capsys)[0] == 0
    fill(database, 2)
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER drop_off_no_update")
        connection.execute("UPDATE drop_off SET weight_grams = 1 WHERE chain_seq = 13")
    code, out = verify(config, capsys, "--since-last")
    assert code == 1
    assert "Keten: GEBROKEN: afgifte MS01-000007 is gewijzigd nadat het was vastgelegd" in out
    # A failed check does not move the record on: the next one walks the same links.
    code, out = verify(config, capsys, "--since-last")
    assert code == 1 and "GEBROKEN" in out


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage\n", b"MS01:10:abc\n", b"\xff\xfe\x00", b"MS01:0:" + b"0" * 64 + b"\n"],
    ids=["empty", "garbage", "short-hash", "not-text", "position-0"],
)
def test_an_unreadable_record_means_walking_everything(
    config: str, database: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    record = verified_record(database)
    record.write_bytes(content)
    code, out = verify(config, capsys, "--since-last")
    assert code == 0
    assert (
        f"Het verslag van de vorige controle ({record}) is onleesbaar: alles wordt gecontroleerd"
    ) in out
    assert "Bestand: in orde" in out and checked_count(out) == 10
    # ... and the passed check replaced it with a good one.
    code, out = verify(config, capsys, "--since-last")
    assert code == 0 and checked_count(out) == 0


def test_an_anchor_not_in_the_database_means_walking_everything(
    config: str, database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The record of another database with as many links: same positions, other hashes.
    other = tmp_path / "other" / "counter.sqlite3"
    fill(other)
    other_config = tmp_path / "other.toml"
    other_config.write_text(f'[database]\npath = "{other}"\n', encoding="utf-8")
    assert verify(str(other_config), capsys)[0] == 0
    other_anchor = verified_record(other).read_text(encoding="utf-8").splitlines()[-1]
    verified_record(database).write_text(other_anchor + "\n", encoding="utf-8")
    code, out = verify(config, capsys, "--since-last")
    assert code == 0
    assert (
        f"Het laatst gecontroleerde anker {other_anchor[:24]} staat niet in deze database"
    ) in out
    assert "Bestand: in orde" in out and checked_count(out) == 10
    # A station the record names that this database does not have: the same.
    verified_record(database).write_text("MS99:3:" + "a" * 64 + "\n", encoding="utf-8")
    code, out = verify(config, capsys, "--since-last")
    assert code == 0 and "staat niet in deze database" in out and checked_count(out) == 10


def test_an_anchor_rewritten_in_place_is_a_mismatch(
    config: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The verified link itself was changed (its stored hash kept): its hash is
    recomputed, so since-last does not start from a link that is no longer the one."""
    assert verify(config, capsys)[0] == 0
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER audit_entry_no_update")
        connection.execute("UPDATE audit_entry SET actor = 'x' WHERE chain_seq = 10")
    code, out = verify(config, capsys, "--since-last")
    assert code == 1
    assert "staat niet in deze database" in out
    assert "GEBROKEN" in out
