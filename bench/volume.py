"""The counter at real volume: one million drop-offs, and every figure next to its baseline.

:func:`million_database` builds, once, a database of one station's three years of
opening hours (about 1,280 drop-offs a day, Tuesday to Saturday), with the project's
own schema (``open_database`` creates it) and its own hash functions (``db.chain``).
It writes the rows one recorded and printed drop-off leaves behind, as
``db.writes.record_drop_off`` and the print worker write them: the captured reading,
the drop-off (a chain link), its print job (sent), an outbox row, and three audit
entries (recorded, sending, sent; chain links too), plus the station's head row; and
one void in a thousand. The rows go in with ``executemany`` in large transactions (the
append-only triggers allow INSERT). It lives in the user cache directory,
``million-<schema head revision>.sqlite3``, and is built again when the schema head
changes. ``counter verify`` checks it once after it is built.

Every measurement runs against a copy of it (the bench writes there) and gives the
median of several runs next to a baseline from the same run and their ratio, so a
reader can judge a noisy machine. Run with ``python -m bench volume`` (alone) or
``make bench``; ``python -m bench.volume --build`` only builds the database.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import platformdirs

from counter_app.catalogue import load_default_catalogue
from counter_app.config import APP_NAME
from db.chain import (
    AUDIT_CONTENT_COLUMNS,
    DROP_OFF_CONTENT_COLUMNS,
    GENESIS_HASH,
    READING_CONTENT_COLUMNS,
    audit_content,
    chain_hash,
    drop_off_content,
)
from db.domain import STATION_TZ as LOCAL_TZ
from db.engine import head_revision, open_database
from db.models import format_utc
from db.printjobs import ATTEMPT_BEGUN, PRINTER_ACTOR
from db.writes import label_code_for

DROP_OFFS = 1_000_000
STATION = "MS01"
OPERATOR = "balie"
YEARS = 3
OPEN_WEEKDAYS = (1, 2, 3, 4, 5)  # Tuesday to Saturday
OPENS, CLOSES = clock(9, 0), clock(17, 0)
VOID_EVERY = 1000
# Of every hundred drop-offs: this many reuse, repair, recycling.
MIX = (("reuse", 25), ("repair", 5), ("recycling", 70))
BATCH = 20_000  # drop-offs per transaction

VENV_BIN = Path(sys.prefix) / "bin"


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "bench"


def database_file() -> Path:
    return cache_dir() / f"million-{head_revision()}.sqlite3"


# -- building --------------------------------------------------------------------------


def opening_days(last: date) -> list[date]:
    """The opening days of the YEARS years up to and including ``last``."""
    first = last - timedelta(days=365 * YEARS)
    days = []
    day = first
    while day <= last:
        if day.weekday() in OPEN_WEEKDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def _moments(days: list[date], count: int, rng: random.Random) -> Iterator[datetime]:
    """``count`` UTC moments spread over the opening hours of ``days``, in order."""
    per_day, extra = divmod(count, len(days))
    for index, day in enumerate(days):
        n = per_day + (1 if index < extra else 0)
        opens = datetime.combine(day, OPENS, tzinfo=LOCAL_TZ)
        seconds = (datetime.combine(day, CLOSES, tzinfo=LOCAL_TZ) - opens).total_seconds()
        offsets = sorted(rng.uniform(0, seconds) for _ in range(n))
        for offset in offsets:
            yield (opens + timedelta(seconds=offset)).astimezone(UTC)


@dataclass
class _Chain:
    """The station's head while building: position, hash and label number."""

    seq: int = 0
    hash: str = GENESIS_HASH
    label_no: int = 0

    def link(self, content: dict[str, Any]) -> tuple[int, str, str]:
        """Next position, prev_hash and content_hash for a row whose content (without
        its position) is ``content``."""
        self.seq += 1
        content["chain_seq"] = self.seq
        prev = self.hash
        self.hash = chain_hash(content, prev)
        return self.seq, prev, self.hash


# The chained tables take their columns from db.chain (the columns a link's hash
# covers) and add the link itself, so the rows written here hash as the app's do.
_LINK_COLUMNS = ("prev_hash", "content_hash")
_INSERTS = {
    "captured_reading": READING_CONTENT_COLUMNS,
    "drop_off": DROP_OFF_CONTENT_COLUMNS + _LINK_COLUMNS,
    "print_job": (
        "id",
        "station_id",
        "drop_off_id",
        "document",
        "status",
        "copy_marker",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "sent_at",
        "reprint_of",
    ),
    "audit_entry": AUDIT_CONTENT_COLUMNS + _LINK_COLUMNS,
    "outbox_entry": ("entity", "entity_id", "created_at", "synced_at"),
}


def _sql(table: str) -> str:
    columns = _INSERTS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _detail(**detail: Any) -> str:
    # As db.writes.add_audit writes it.
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str)


class _Rows:
    """The rows of one batch, per table, as tuples in ``_INSERTS`` column order."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _INSERTS}

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables[table].append(tuple(row.get(column) for column in _INSERTS[table]))


def _audit(
    rows: _Rows,
    chain: _Chain,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    **d: Any,
) -> None:
    entry = {
        "id": str(uuid.uuid4()),
        "station_id": STATION,
        "at": format_utc(at),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "detail": _detail(**d),
    }
    # db.chain.audit_content reads attributes: the row's values, its time as a datetime.
    content = audit_content(SimpleNamespace(**{**entry, "chain_seq": 0, "at": at}))  # type: ignore[arg-type]
    entry["chain_seq"], entry["prev_hash"], entry["content_hash"] = chain.link(content)
    rows.add("audit_entry", entry)


def _recorded(
    rows: _Rows, chain: _Chain, at_utc: datetime, entry: Any, grams: int, rng: random.Random
) -> str:
    """The rows of one recorded and printed drop-off; returns its id."""
    at = format_utc(at_utc)
    received_utc = at_utc - timedelta(milliseconds=rng.randint(150, 900))
    received = format_utc(received_utc)
    kg = f"{grams // 1000}.{(grams % 1000) // 10:02d}"  # the indicator shows 10 g steps
    reading = {
        "id": str(uuid.uuid4()),
        "weight": kg,
        "unit": "kg",
        "grams": grams,
        "stable": True,
        "net": False,
        "tare": None,
        "raw_frame": f"ST,GS,+{kg.rjust(7, '0')}kg\r\n".encode(),
        "received_at": received,
        "protocol": "comma",
        "port": "/dev/ttyUSB0",
    }
    chain.label_no += 1
    label_code = label_code_for(STATION, chain.label_no)
    drop_off = {
        "id": str(uuid.uuid4()),
        "station_id": STATION,
        "label_no": chain.label_no,
        "label_code": label_code,
        "recorded_at": at,
        "visit_id": None,
        "classification": entry.classification,
        "category_code": entry.code,
        "category_name": entry.name_nl,
        "eural_code": entry.eural_code,
        "weight_grams": grams,
        "weight_source": "scale",
        "operator": OPERATOR,
        "reading_id": reading["id"],
        "voids_id": None,
        "corrects_id": None,  # the bench records no corrections
        "reason": None,
    }
    content = drop_off_content(
        SimpleNamespace(**{**drop_off, "chain_seq": 0, "recorded_at": at_utc}),  # type: ignore[arg-type]
        SimpleNamespace(**{**reading, "received_at": received_utc}),  # type: ignore[arg-type]
    )
    drop_off["chain_seq"], drop_off["prev_hash"], drop_off["content_hash"] = chain.link(content)
    sent_utc = at_utc + timedelta(milliseconds=rng.randint(300, 2500))
    sent_at = format_utc(sent_utc)
    job = {
        "id": str(uuid.uuid4()),
        "station_id": STATION,
        "drop_off_id": drop_off["id"],
        "document": "item_label",
        "status": "sent",
        "attempts": 1,
        "created_at": at,
        "updated_at": sent_at,
        "sent_at": sent_at,
    }
    rows.add("captured_reading", reading)
    rows.add("drop_off", drop_off)
    rows.add("print_job", job)
    _audit(
        rows,
        chain,
        at_utc,
        OPERATOR,
        "drop_off.recorded",
        "drop_off",
        drop_off["id"],
        label_code=label_code,
        classification=entry.classification,
        category_code=entry.code,
        weight_grams=grams,
        weight_source="scale",
        reason=None,
        print_job_id=job["id"],
    )
    rows.add("outbox_entry", {"entity": "drop_off", "entity_id": drop_off["id"], "created_at": at})
    claimant = {"pid": 4242, "host": "balie-pc"}
    _audit(
        rows, chain, at_utc, PRINTER_ACTOR, ATTEMPT_BEGUN, "print_job", job["id"],
        attempt=1, copy_marker=None, claimant=claimant,
    )  # fmt: skip
    _audit(
        rows, chain, sent_utc, PRINTER_ACTOR, "print_job.sent", "print_job", job["id"],
        attempts=1, copy_marker=None,
    )  # fmt: skip
    return str(drop_off["id"])


def _void(rows: _Rows, chain: _Chain, at_utc: datetime, original: dict[str, Any]) -> None:
    """The void of ``original`` a minute after it, as ``void_drop_off`` writes it."""
    at = format_utc(at_utc)
    reason = "verkeerde categorie"
    void = {
        **original,
        "id": str(uuid.uuid4()),
        "label_no": None,
        "label_code": None,
        "recorded_at": at,
        "reading_id": None,
        "voids_id": original["id"],
        "reason": reason,
    }
    content = drop_off_content(
        SimpleNamespace(**{**void, "chain_seq": 0, "recorded_at": at_utc}),  # type: ignore[arg-type]
        None,
    )
    void["chain_seq"], void["prev_hash"], void["content_hash"] = chain.link(content)
    rows.add("drop_off", void)
    _audit(
        rows, chain, at_utc, OPERATOR, "drop_off.voided", "drop_off", original["id"],
        label_code=original["label_code"], void_id=void["id"], reason=reason,
    )  # fmt: skip
    rows.add("outbox_entry", {"entity": "drop_off", "entity_id": void["id"], "created_at": at})


def _write(connection: sqlite3.Connection, rows: _Rows) -> None:
    connection.execute("BEGIN")
    for table in ("captured_reading", "drop_off", "print_job", "audit_entry", "outbox_entry"):
        connection.executemany(_sql(table), rows.tables[table])
    connection.execute("COMMIT")


def build(path: Path, count: int = DROP_OFFS, last_day: date | None = None) -> None:
    """Build the database of ``count`` drop-offs at ``path`` (which must not exist)."""
    open_database(path).dispose()  # the project's schema, every migration applied
    catalogue = load_default_catalogue()
    choices = {name: catalogue.entries_for(name) for name, _ in MIX}
    rng = random.Random(20261128)
    last_day = last_day or datetime.now(LOCAL_TZ).date() - timedelta(days=1)
    days = opening_days(last_day)
    chain = _Chain()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous = OFF")  # a build that breaks is built again
    connection.execute("PRAGMA cache_size = -1000000")
    connection.execute("PRAGMA wal_autocheckpoint = 100000")
    rows = _Rows()
    classifications = [name for name, share in MIX for _ in range(share)]
    for index, moment in enumerate(_moments(days, count, rng)):
        entry = rng.choice(choices[rng.choice(classifications)])
        # Mostly small loads, now and then a trailer: 0.5 kg to about 600 kg.
        grams = max(500, int(rng.lognormvariate(9.6, 1.1)) // 10 * 10)
        grams = min(grams, 600_000)
        drop_off_id = _recorded(rows, chain, moment, entry, grams, rng)
        if index % VOID_EVERY == VOID_EVERY - 1:
            original = dict(zip(_INSERTS["drop_off"], rows.tables["drop_off"][-1], strict=True))
            assert original["id"] == drop_off_id
            _void(rows, chain, moment + timedelta(minutes=1), original)
        if len(rows.tables["drop_off"]) >= BATCH:
            _write(connection, rows)
            rows = _Rows()
    _write(connection, rows)
    connection.execute(
        "INSERT INTO label_sequence (station_id, last_no, chain_seq, chain_hash) "
        "VALUES (?, ?, ?, ?)",
        (STATION, chain.label_no, chain.seq, chain.hash),
    )
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def million_database(log: Any = print) -> Path:
    """The cached database of a million drop-offs; built (and verified) when missing."""
    path = database_file()
    if path.exists():
        return path
    cache_dir().mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".building")
    for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    log(f"building {path} ({DROP_OFFS:,} drop-offs) ...")
    start = time.perf_counter()
    build(partial)
    built = time.perf_counter() - start
    log(f"built in {built:.0f} s; checking it with 'counter verify' ...")
    start = time.perf_counter()
    result = run_counter(partial, "verify")
    if result.returncode != 0:
        raise RuntimeError(f"the built database does not verify:\n{result.stdout}{result.stderr}")
    log(f"verified in {time.perf_counter() - start:.0f} s:\n{result.stdout.strip()}")
    os.replace(partial, path)
    (cache_dir() / f"{path.name}.built").write_text(
        f"built in {built:.0f} s on {date.today().isoformat()}\n", encoding="utf-8"
    )
    return path


# -- running the counter's commands ----------------------------------------------------


def config_file(database: Path, folder: Path) -> Path:
    """A configuration for the bench: the station of the big database, ``database``."""
    config = folder / "bench-config.toml"
    config.write_text(
        f'[station]\nid = "{STATION}"\noperator = "{OPERATOR}"\n'
        f'[printer]\npath = "{folder / "labels"}"\n'
        f'[database]\npath = "{database}"\n',
        encoding="utf-8",
    )
    return config


def bench_env(folder: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        XDG_DATA_HOME=str(folder / "data"),
        XDG_CONFIG_HOME=str(folder / "config"),
    )
    env.pop("COUNTER_CONFIG", None)
    return env


def run_counter(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``counter --config ... ARGS`` on ``database``, as a real process."""
    folder = database.parent / (database.name + ".bench")
    folder.mkdir(exist_ok=True)
    return subprocess.run(
        [str(VENV_BIN / "counter"), "--config", str(config_file(database, folder)), *args],
        capture_output=True,
        text=True,
        env=bench_env(folder),
        check=False,
    )


def working_copy(folder: Path) -> Path:
    """A copy of the cached database in ``folder``, for commands that write."""
    source = million_database()
    target = folder / "million.sqlite3"
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return target


def _parsers() -> list[tuple[str, str]]:
    """The two slowest parsers, as bench.parsers measures them (aim: 100k frames/s)."""
    from bench.parsers import measure

    return [figure for name in ("toledo", "nci") for figure in measure(name)[:1]]


def run() -> list[tuple[str, str]]:
    from bench import volume_commands, volume_counter

    started = time.perf_counter()
    million_database()
    figures: list[tuple[str, str]] = []
    built = cache_dir() / f"{database_file().name}.built"
    if built.exists():
        figures.append(("the million database", built.read_text(encoding="utf-8").strip()))
    figures.extend(volume_commands.run())
    figures.extend(volume_counter.run())
    figures.extend(_parsers())
    figures.append(("(whole volume bench)", f"{time.perf_counter() - started:.0f} s"))
    return figures


if __name__ == "__main__":
    if sys.argv[1:] == ["--build"]:
        print(million_database())
    else:
        for figure, value in run():
            print(f"{figure:<55} {value}")
