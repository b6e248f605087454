"""One counter per station per database: the station lock, with real processes.

A second counter for the same station on the same database file refuses to start and
says which process holds the station; a counter that died (SIGKILL) leaves no lock
behind; another station on the same database starts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_app.services.station_lock import StationLocked, acquire, held_here, lock_path

ROOT = Path(__file__).resolve().parents[2]

_HOLDER = """
import sys
from pathlib import Path
from counter_app.services.station_lock import acquire

lock = acquire(Path(sys.argv[1]), sys.argv[2])
print("held", flush=True)
sys.stdin.readline()  # hold until the test closes our stdin
"""

_KILLED_HOLDER = """
import os, signal, sys
from pathlib import Path
from counter_app.services.station_lock import acquire

lock = acquire(Path(sys.argv[1]), sys.argv[2])
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "counter.sqlite3"


def hold(database: Path, station: str) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database), station],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.fixture
def ms01_held(database: Path) -> Iterator[subprocess.Popen[str]]:
    yield from hold(database, "MS01")


def counter_config(tmp_path: Path, database: Path, station: str, language: str) -> Path:
    path = tmp_path / f"{station}-{language}.toml"
    path.write_text(
        f'language = "{language}"\n'
        f'[station]\nid = "{station}"\n'
        f'[printer]\nconnection = "preview"\npath = "{tmp_path / "labels"}"\n'
        f'[database]\npath = "{database}"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("nl", "De weegbalie voor station MS01 draait al met deze database"),
        ("en", "The counter for station MS01 is already running on this database"),
    ],
)
def test_a_second_counter_for_the_same_station_refuses_to_start_and_names_the_holder(
    tmp_path: Path,
    database: Path,
    ms01_held: subprocess.Popen[str],
    language: str,
    words: str,
) -> None:
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "counter_app",
            "--config",
            str(counter_config(tmp_path, database, "MS01", language)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert second.returncode == 2, second.stderr
    assert words in second.stderr
    assert str(ms01_held.pid) in second.stderr
    assert socket.gethostname() in second.stderr
    assert "Traceback" not in second.stderr
    assert not database.exists()  # refused before the database was touched


def test_the_lock_says_who_holds_it(database: Path, ms01_held: subprocess.Popen[str]) -> None:
    with pytest.raises(StationLocked) as refused:
        acquire(database, "MS01")

    holder = refused.value.holder
    assert holder is not None
    assert (holder.pid, holder.host) == (ms01_held.pid, socket.gethostname())
    assert holder.since  # when it started, as local time text
    assert refused.value.station_id == "MS01"


def test_another_station_on_the_same_database_may_start(
    database: Path, ms01_held: subprocess.Popen[str]
) -> None:
    with acquire(database, "MS02") as lock:
        assert held_here(database, "MS02")
        assert lock.path == lock_path(database, "MS02")
        assert lock.path.name == "counter.sqlite3.MS02.lock"
    assert not held_here(database, "MS02")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_crashed_counter_does_not_block_its_restart(database: Path) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_HOLDER, str(database), "MS01"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert lock_path(database, "MS01").exists()  # the file stays; the lock went with it

    with acquire(database, "MS01"):
        assert held_here(database, "MS01")


def test_a_lock_released_by_its_holder_can_be_taken(database: Path) -> None:
    first = acquire(database, "MS01")
    with pytest.raises(StationLocked) as refused:
        acquire(database, "MS01")  # even from the same process
    assert refused.value.holder is not None
    assert refused.value.holder.pid == os.getpid()
    first.release()

    with acquire(database, "MS01"):
        pass
