"""One counter per station per database: an operating-system lock beside the database.

Two counters of the same station on one database would both send that station's
labels. So the counter takes ``<database file>.<station>.lock`` (for example
``counter.sqlite3.MS01.lock``) before it starts, with an exclusive, non-blocking lock
of the operating system: ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows. The
system releases the lock when the holder ends, however it ends, so a counter that
crashed never blocks its restart; the file itself stays and is reused.

The holder writes its process id, host and start time into the file, so a second
counter can say who holds the station. On Windows the lock covers one byte far past
that text (a locked range cannot be read there), so the text stays readable.

Locks and SQLite's WAL mode need a local disk: on a network share neither is
reliable, which is why the database belongs on the counter PC's own disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from db.domain import STATION_TZ

if TYPE_CHECKING:
    from counter_app.config import Config

# Windows: the locked byte, far beyond the holder's text at the start of the file.
_WINDOWS_LOCK_OFFSET = 1 << 30

_held: dict[tuple[str, str], StationLock] = {}
_held_guard = threading.Lock()


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a station: process id, host name, and since when (local time text)."""

    pid: int | None
    host: str
    since: str


class StationLocked(Exception):
    """Another counter (process) holds the station on this database."""

    def __init__(self, path: Path, station_id: str, holder: LockHolder | None) -> None:
        who = "another process" if holder is None else f"process {holder.pid} on {holder.host}"
        super().__init__(f"station {station_id} on this database is held by {who} ({path})")
        self.path = path
        self.station_id = station_id
        self.holder = holder


class StationLockError(Exception):
    """The lock file cannot be made or locked (folder missing, no permission)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot lock {path}: {reason}")
        self.path = path
        self.reason = reason


def lock_path(database: Path, station_id: str) -> Path:
    """``<database file>.<station>.lock``, in the database's folder."""
    return database.with_name(f"{database.name}.{station_id}.lock")


def _key(database: Path, station_id: str) -> tuple[str, str]:
    return (str(database.expanduser().resolve()), station_id)


def held_here(database: Path, station_id: str) -> bool:
    """Whether this process holds the station's lock on ``database``."""
    with _held_guard:
        return _key(database, station_id) in _held


class StationLock:
    """A held station lock; :meth:`release` (or leaving the ``with`` block) frees it."""

    def __init__(self, path: Path, fd: int, key: tuple[str, str]) -> None:
        self.path = path
        self._fd: int | None = fd
        self._key = key

    def __enter__(self) -> StationLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with _held_guard:
            _held.pop(self._key, None)
        with contextlib.suppress(OSError):
            _unlock(fd)
        os.close(fd)


def acquire(database: Path, station_id: str) -> StationLock:
    """Take the station's lock on ``database`` or raise :class:`StationLocked`.

    Raises :class:`StationLockError` when the lock file cannot be made or locked.
    """
    database = database.expanduser()
    path = lock_path(database, station_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StationLockError(path, exc.strerror or str(exc)) from exc
    try:
        locked = _try_lock(fd)
    except OSError as exc:
        os.close(fd)
        raise StationLockError(path, exc.strerror or str(exc)) from exc
    if not locked:
        os.close(fd)
        raise StationLocked(path, station_id, _read_holder(path))
    try:
        _write_holder(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            _unlock(fd)
        os.close(fd)
        raise StationLockError(path, exc.strerror or str(exc)) from exc
    lock = StationLock(path, fd, _key(database, station_id))
    with _held_guard:
        _held[lock._key] = lock
    return lock


def _try_lock(fd: int) -> bool:
    """Lock ``fd`` exclusively without waiting; False when another holder has it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except PermissionError:
            return False
        except OSError as exc:  # EDEADLOCK: the byte is locked
            if exc.errno in (13, 36):
                return False
            raise
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _write_holder(fd: int) -> None:
    # The station's time (Europe/Amsterdam), as everything else the counter shows.
    since = datetime.now(STATION_TZ).strftime("%Y-%m-%d %H:%M:%S")
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since})
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text.encode("utf-8") + b"\n")


def _read_holder(path: Path) -> LockHolder | None:
    try:
        with path.open("r", encoding="utf-8") as stream:
            data = json.loads(stream.readline() or "{}")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not data:
        return None
    pid = data.get("pid")
    return LockHolder(
        pid=pid if isinstance(pid, int) else None,
        host=str(data.get("host", "?")),
        since=str(data.get("since", "?")),
    )


def hold_for_counter(config: Config, err: TextIO) -> StationLock | None:
    """The station lock for the counter about to start, or None after saying why not.

    The message is for the attendant at the terminal, in the configured language.
    """
    from counter_app.i18n import Messages

    messages = Messages(config.language)
    station = config.station.id
    try:
        return acquire(config.database_path(), station)
    except StationLocked as exc:
        holder = exc.holder
        if holder is None:
            print(messages.t("station_lock.held_unknown", station=station, path=exc.path), file=err)
        else:
            print(
                messages.t(
                    "station_lock.held",
                    station=station,
                    pid=holder.pid if holder.pid is not None else "?",
                    host=holder.host,
                    since=holder.since,
                    path=exc.path,
                ),
                file=err,
            )
    except StationLockError as exc:
        print(messages.t("station_lock.failed", path=exc.path, error=exc.reason), file=err)
    return None
