"""A counter whose terminal goes away ends, cleanly, and lets go of the scale's port.

The counter runs in a child process on a real pseudo-terminal that is its controlling
terminal, as in a terminal window, tmux or an SSH session. Then the terminal goes: a
SIGHUP (the window closed), or the terminal side simply vanishes (the master side is
closed, as when tmux kills its session). Started directly and through ``make run``.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX terminals only")

REPO = Path(__file__).resolve().parents[1]
COUNTER = Path(sys.executable).with_name("counter")
#: A guard against a counter that never ends, not a measure of how fast it ends.
EXIT_GUARD_SECONDS = 30.0


class Terminal:
    """The master side of a pty, with everything the counter paints collected."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = bytearray()
        self.sessions: list[int] = []
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output.extend(data)

    def start(self, argv: list[str], cwd: Path | None = None) -> subprocess.Popen[bytes]:
        def controlling_terminal() -> None:
            # After setsid (start_new_session): this pty becomes the session's terminal.
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
        env.pop("TEXTUAL", None)
        process = subprocess.Popen(
            argv,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
            preexec_fn=controlling_terminal,
            cwd=cwd,
            env=env,
        )
        os.close(self.slave)  # only the child holds the terminal side now
        self.sessions.append(process.pid)
        return process

    def wait_for(self, text: bytes, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while text not in self.output:
            assert process.poll() is None, self.output.decode(errors="replace")[-2000:]
            assert time.monotonic() < deadline, f"{text!r} never painted"
            time.sleep(0.05)

    def vanish(self) -> None:
        """The terminal side goes away, as when tmux kills the session."""
        self._stop.set()
        self._reader.join()
        os.close(self.master)

    def close(self) -> None:
        if not self._stop.is_set():
            self.vanish()
        # Whatever happened in the test, no counter stays behind it.
        for sid in self.sessions:
            for pid in session_pids(sid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    yield term
    term.close()


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A counter database at the newest schema, with nothing in it: each counter here
    opens a copy rather than creating and migrating its own (a third of a second of CPU
    in every counter, and not what these tests are about)."""
    from db.engine import open_database

    path = tmp_path_factory.mktemp("empty") / "counter.sqlite3"
    open_database(path).dispose()
    assert not Path(f"{path}-wal").exists()  # all in the file: a copy is whole
    return path


@pytest.fixture
def site(config_file: Callable[..., Path], tmp_path: Path, empty_database: Path) -> Path:
    shutil.copyfile(empty_database, tmp_path / "counter.sqlite3")
    return config_file(
        f"""
        [scale]
        port = "sim"
        [printer]
        connection = "preview"
        path = "{tmp_path / "labels"}"
        [database]
        path = "{tmp_path / "counter.sqlite3"}"
        """
    )


def session_pids(sid: int) -> list[int]:
    """The processes still alive in session ``sid`` (the counter and its parents)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(entry.name))
    return pids


def ended(process: subprocess.Popen[bytes]) -> int | None:
    """Wait (with a generous guard) until the whole session has ended."""
    try:
        code = process.wait(timeout=EXIT_GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        code = None
    deadline = time.monotonic() + EXIT_GUARD_SECONDS
    while session_pids(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_pids(process.pid)
    for pid in left:  # do not leave a stray counter behind a failing test
        os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
        process.wait()
    assert not left, "the counter kept running without its terminal"
    return code


def assert_database_whole(tmp_path: Path) -> None:
    db = tmp_path / "counter.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Every drop-off has its captured reading and its print job: no half record.
        orphans = conn.execute(
            "select count(*) from drop_off d where d.voids_id is null and ("
            " d.reading_id is null or not exists"
            " (select 1 from print_job p where p.drop_off_id = d.id))"
        ).fetchone()
        assert orphans == (0,)
    # The checks `counter verify` makes (the file, every station's chain), here rather
    # than in one more interpreter that would load SQLAlchemy again for an empty chain;
    # the command itself is tested in test_cli_verify.py.
    from db.engine import check_file, open_database
    from db.verify import verify_chain

    engine = open_database(db, create=False, read_only=True)
    try:
        assert check_file(engine, full=True).problems == ()
        report = verify_chain(engine)
        assert report.ok, report.issue
    finally:
        engine.dispose()


def database_open(
    tmp_path: Path, process: subprocess.Popen[bytes], terminal: Terminal | None = None
) -> None:
    """Wait until the counter has opened its database: its first connection makes the
    write-ahead log, which the copy it was given has not."""
    deadline = time.monotonic() + 60
    wal = tmp_path / "counter.sqlite3-wal"
    while not wal.exists():
        assert process.poll() is None
        assert time.monotonic() < deadline, "the database was never opened: " + (
            terminal.output.decode(errors="replace")[-3000:] if terminal else ""
        )
        time.sleep(0.05)


def start_counter(terminal: Terminal, site: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    process = terminal.start([str(COUNTER), "--config", str(site)])
    terminal.wait_for(b"Milieustraat", process)
    database_open(tmp_path, process, terminal)
    return process


def test_sighup_ends_the_counter_cleanly(terminal: Terminal, site: Path, tmp_path: Path) -> None:
    process = start_counter(terminal, site, tmp_path)
    process.send_signal(signal.SIGHUP)
    assert ended(process) == 0  # a clean exit, not killed by the signal
    assert_database_whole(tmp_path)


def test_a_vanished_terminal_ends_the_counter(
    terminal: Terminal, site: Path, tmp_path: Path
) -> None:
    process = start_counter(terminal, site, tmp_path)
    terminal.vanish()
    assert ended(process) is not None
    assert_database_whole(tmp_path)


def _make_run_ready() -> bool:
    make = shutil.which("make")
    if make is None or not (REPO / "Makefile").is_file():
        return False
    # Only when `make run` would start the counter at once (the venv is up to date).
    up_to_date = subprocess.run(
        [make, "-q", "-C", str(REPO), "venv"], capture_output=True, stdin=subprocess.DEVNULL
    )
    return up_to_date.returncode == 0 and COUNTER.is_file()


@pytest.mark.skipif(not _make_run_ready(), reason="make, or an up-to-date .venv, is missing")
@pytest.mark.parametrize("how", ["vanish", "sighup"])
def test_through_make_run_the_counter_ends_with_its_terminal(
    terminal: Terminal, site: Path, tmp_path: Path, how: str
) -> None:
    """``make run`` in a tmux window: make leads the session, the counter is its child.

    The terminal vanishes (make gets the hang-up, the counter only loses its terminal)
    or the whole foreground group gets SIGHUP; either way nothing stays behind.
    """
    process = terminal.start(
        ["make", "--no-print-directory", "-C", str(REPO), "run", f"ARGS=--config {site}"]
    )
    terminal.wait_for(b"Milieustraat", process)
    database_open(tmp_path, process, terminal)
    if how == "vanish":
        terminal.vanish()
    else:
        os.killpg(process.pid, signal.SIGHUP)
    ended(process)
    assert_database_whole(tmp_path)
