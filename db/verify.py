"""The chain check behind ``counter verify``: every station's links, hashes, label
numbers and head, and anchors kept outside the database (see ``db.chain``)."""

from __future__ import annotations

import heapq
import os
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from db.anchor import read_chain_heads
from db.chain import (
    AUDIT_CONTENT_COLUMNS,
    DROP_OFF_CONTENT_COLUMNS,
    GENESIS_HASH,
    READING_CONTENT_COLUMNS,
    Anchor,
    audit_values_content,
    chain_hash,
    drop_off_values_content,
)
from db.engine import DatabaseError, database_path, read_session

CHAIN_PROBLEM_CODES: tuple[str, ...] = (
    "position",
    "link",
    "reading_missing",
    "changed",
    "label_gap",
    "head_missing",
    "head_behind",
    "head_ahead",
    "label_head",
    "anchor_station",
    "anchor_beyond",
    "anchor_differs",
)


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first thing ``counter verify`` found wrong, as a reason code and its facts.

    ``code`` is one of :data:`CHAIN_PROBLEM_CODES`. ``facts`` holds plain
    values (station, positions, the row's label code or audit action); the application
    puts them into words. :meth:`describe` gives English words for logs and tests.
    """

    code: str
    facts: dict[str, Any]

    def describe(self) -> str:
        f = self.facts
        row = f.get("row", "")
        texts = {
            "position": f"{row} is at position {f.get('found')} of station {f.get('station')}'s "
            f"chain where {f.get('expected')} was expected: a record is missing or was inserted",
            "link": f"{row} does not follow the record before it: "
            "a record was removed, inserted or changed",
            "reading_missing": f"the captured reading of {row} is missing",
            "changed": f"{row} was changed after it was recorded",
            "label_gap": f"{row} has label number {f.get('found')} where {f.get('expected')} "
            "was expected: a label number is missing",
            "head_missing": f"station {f.get('station')} has records but no head row: "
            "the row that numbers its labels was removed",
            "head_behind": f"station {f.get('station')}'s head names position "
            f"{f.get('head')} but its chain goes on to {f.get('tail')}: the head was changed",
            "head_ahead": f"station {f.get('station')}'s head names position {f.get('head')} "
            f"but its chain ends at {f.get('tail')}: records are missing",
            "label_head": f"station {f.get('station')} handed out label number "
            f"{f.get('head')}, but the newest stored label is number {f.get('tail')}: "
            "records are missing or the label numbering was changed",
            "anchor_station": f"the anchor {f.get('anchor')} names station "
            f"{f.get('station')}, which has no records here: they were removed",
            "anchor_beyond": f"the anchor {f.get('anchor')} names position {f.get('seq')}, "
            f"but station {f.get('station')}'s chain ends at {f.get('tail')}: "
            "records were removed",
            "anchor_differs": f"the record at the anchor {f.get('anchor')} is not the one "
            "the anchor was taken from: records up to it were changed and their hashes "
            "computed again",
        }
        return texts.get(self.code, self.code)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What ``counter verify`` found. ``count`` is the number of links checked; ``heads``
    is each station's newest link as an :class:`Anchor` (to keep outside the database);
    ``anchors`` the anchors that were checked against the chain."""

    ok: bool
    count: int
    first_broken_id: str | None = None
    problem: str | None = None
    issue: ChainProblem | None = None
    heads: tuple[Anchor, ...] = ()
    anchors: tuple[Anchor, ...] = ()


# A link as the walk reads it: a plain tuple. A drop-off row carries its content
# columns (db.chain.DROP_OFF_CONTENT_COLUMNS), its prev_hash and content_hash, then its
# reading's content columns (all NULL without one); an audit entry its content columns,
# prev_hash and content_hash. Both have the position (chain_seq) at index 2.
_SEQ = 2
_DROP_OFF_WIDTH = len(DROP_OFF_CONTENT_COLUMNS)
_AUDIT_WIDTH = len(AUDIT_CONTENT_COLUMNS)
_DROP_OFF_LINKS = (
    "SELECT "
    + ", ".join(f"d.{c}" for c in (*DROP_OFF_CONTENT_COLUMNS, "prev_hash", "content_hash"))
    + ", "
    + ", ".join(f"r.{c}" for c in READING_CONTENT_COLUMNS)
    + " FROM drop_off AS d LEFT JOIN captured_reading AS r ON r.id = d.reading_id"
    " WHERE d.station_id = ? AND d.chain_seq > ? ORDER BY d.chain_seq"
)
_AUDIT_LINKS = (
    "SELECT "
    + ", ".join((*AUDIT_CONTENT_COLUMNS, "prev_hash", "content_hash"))
    + " FROM audit_entry WHERE station_id = ? AND chain_seq > ? ORDER BY chain_seq"
)
# Every station with links, found through the (station_id, chain_seq) index one
# station at a time (a loose index scan) instead of reading every row.
_STATIONS = (
    " UNION ".join(
        f"SELECT x FROM (WITH RECURSIVE s(x) AS (SELECT min(station_id) FROM {table} UNION ALL"
        f" SELECT (SELECT min(station_id) FROM {table} WHERE station_id > s.x) FROM s"
        " WHERE s.x IS NOT NULL) SELECT x FROM s WHERE x IS NOT NULL)"
        for table in ("drop_off", "audit_entry")
    )
    + " UNION SELECT station_id FROM label_sequence"
)
# The stored hash of one link, wherever it is.
_LINK_HASH = (
    "SELECT content_hash FROM drop_off WHERE station_id = ? AND chain_seq = ?"
    " UNION ALL SELECT content_hash FROM audit_entry WHERE station_id = ? AND chain_seq = ?"
)
# The label number handed out last at or before a position: the newest drop-off with a
# label number there, found backwards through the (station_id, chain_seq) index.
_LABEL_AT = (
    "SELECT label_no FROM drop_off WHERE station_id = ? AND chain_seq <= ?"
    " AND label_no IS NOT NULL ORDER BY chain_seq DESC LIMIT 1"
)
_HEADS = "SELECT station_id, last_no, chain_seq, chain_hash FROM label_sequence"


def _row_facts(row: Sequence[Any]) -> dict[str, Any]:
    if len(row) == _AUDIT_WIDTH + 2:
        _, _, seq, _, _, action, entity, entity_id, _ = row[:_AUDIT_WIDTH]
        return {
            "row": f"the audit entry {action!r} of {entity} {entity_id}",
            "kind": "audit",
            "action": action,
            "seq": seq,
        }
    station, seq, label_code = row[1], row[2], row[4]
    if label_code is not None:
        return {
            "row": f"drop-off {label_code}",
            "kind": "drop_off",
            "label": label_code,
            "seq": seq,
        }
    return {
        "row": f"the void at position {seq} of station {station}",
        "kind": "void",
        "seq": seq,
    }


@dataclass(slots=True)
class _StationWalk:
    """What the walk knows of one station's chain so far."""

    seq: int = 0
    hash: str = GENESIS_HASH
    last_label: int = 0


def _check_link(row: Sequence[Any], walk: _StationWalk) -> ChainProblem | None:
    expected = walk.seq + 1
    if row[_SEQ] != expected:
        return ChainProblem(
            "position",
            {**_row_facts(row), "station": row[1], "found": row[_SEQ], "expected": expected},
        )
    if len(row) == _AUDIT_WIDTH + 2:
        prev_hash, content_hash = row[_AUDIT_WIDTH], row[_AUDIT_WIDTH + 1]
        if prev_hash != walk.hash:
            return ChainProblem("link", _row_facts(row))
        if chain_hash(audit_values_content(row[:_AUDIT_WIDTH]), prev_hash) != content_hash:
            return ChainProblem("changed", _row_facts(row))
        return None
    prev_hash, content_hash = row[_DROP_OFF_WIDTH], row[_DROP_OFF_WIDTH + 1]
    if prev_hash != walk.hash:
        return ChainProblem("link", _row_facts(row))
    reading: Sequence[Any] | None = row[_DROP_OFF_WIDTH + 2 :]
    if row[_DROP_OFF_WIDTH + 2] is None:
        if row[14] is not None:  # reading_id names a reading that is not there
            return ChainProblem("reading_missing", _row_facts(row))
        reading = None
    if chain_hash(drop_off_values_content(row[:_DROP_OFF_WIDTH], reading), prev_hash) != (
        content_hash
    ):
        return ChainProblem("changed", _row_facts(row))
    label_no = row[3]
    if label_no is not None and label_no != walk.last_label + 1:
        return ChainProblem(
            "label_gap", {**_row_facts(row), "found": label_no, "expected": walk.last_label + 1}
        )
    return None


def _check_heads(
    heads: dict[str, tuple[int, int, str]], walks: dict[str, _StationWalk]
) -> ChainProblem | None:
    for station in sorted(set(heads) | set(walks)):
        walk = walks.get(station, _StationWalk())
        head = heads.get(station)
        if head is None:
            return ChainProblem("head_missing", {"station": station})
        last_no, head_seq, head_hash = head
        if head_seq < walk.seq:
            return ChainProblem(
                "head_behind", {"station": station, "head": head_seq, "tail": walk.seq}
            )
        if head_seq > walk.seq or head_hash != walk.hash:
            return ChainProblem(
                "head_ahead", {"station": station, "head": head_seq, "tail": walk.seq}
            )
        if last_no != walk.last_label:
            return ChainProblem(
                "label_head", {"station": station, "head": last_no, "tail": walk.last_label}
            )
    return None


def _check_anchor(
    anchor: Anchor, walks: dict[str, _StationWalk], seen: dict[tuple[str, int], str]
) -> ChainProblem | None:
    facts: dict[str, Any] = {
        "anchor": anchor.text(),
        "station": anchor.station_id,
        "seq": anchor.chain_seq,
    }
    walk = walks.get(anchor.station_id)
    if walk is None:
        return ChainProblem("anchor_station", facts)
    found = seen.get((anchor.station_id, anchor.chain_seq))
    if found is None:
        return ChainProblem("anchor_beyond", {**facts, "tail": walk.seq})
    if not anchor.matches(found):
        return ChainProblem("anchor_differs", facts)
    return None


class SinceLastMismatch(Exception):
    """The last verified anchor of a station is not in this database (the link at its
    position is missing or has another hash): the chain was changed, or this is another
    database. ``anchor`` is the one that did not match."""

    def __init__(self, anchor: Anchor) -> None:
        super().__init__(f"the last verified anchor {anchor.text()} is not in this database")
        self.anchor = anchor


def _start_from(cursor: Any, anchor: Anchor) -> _StationWalk:
    """The walk state at a verified anchor, checked against the database: the link at
    its position must still carry its hash (recomputed from the row, not only stored)."""
    rows = cursor.execute(_LINK_HASH, (anchor.station_id, anchor.chain_seq) * 2).fetchall()
    if len(rows) != 1 or rows[0][0] != anchor.digest:
        raise SinceLastMismatch(anchor)
    link = _link_at(cursor, anchor.station_id, anchor.chain_seq)
    if link is None or _link_hash(link) != anchor.digest:
        raise SinceLastMismatch(anchor)
    label = cursor.execute(_LABEL_AT, (anchor.station_id, anchor.chain_seq)).fetchone()
    return _StationWalk(anchor.chain_seq, anchor.digest, 0 if label is None else label[0])


def _link_at(cursor: Any, station: str, seq: int) -> Sequence[Any] | None:
    for statement in (_DROP_OFF_LINKS, _AUDIT_LINKS):
        row = cursor.execute(
            statement.replace("chain_seq > ?", "chain_seq = ?"), (station, seq)
        ).fetchone()
        if row is not None:
            return tuple(row)
    return None


def _link_hash(row: Sequence[Any]) -> str:
    """The hash a link's content gives, chained to its stored prev_hash."""
    if len(row) == _AUDIT_WIDTH + 2:
        return chain_hash(audit_values_content(row[:_AUDIT_WIDTH]), row[_AUDIT_WIDTH])
    reading = row[_DROP_OFF_WIDTH + 2 :]
    return chain_hash(
        drop_off_values_content(row[:_DROP_OFF_WIDTH], None if reading[0] is None else reading),
        row[_DROP_OFF_WIDTH],
    )


def verify_chain(
    engine: Engine,
    anchors: Sequence[Anchor] = (),
    *,
    since: Mapping[str, Anchor] | None = None,
) -> ChainReport:
    """Check every station's chain: positions, links, hashes, label numbers, the
    station heads, and that the chain still holds each of ``anchors``.

    With ``since`` (each station's last verified anchor, see :func:`read_verified`),
    only the links after those anchors are walked, from the anchor's position and hash;
    a station without one is walked from its start. An anchor that no longer matches
    its link raises :class:`SinceLastMismatch`. ``--anchor`` anchors at or before a
    station's starting point are looked up, not walked to.

    Rows are read as plain tuples through one cursor in one read transaction, one at a
    time: memory does not grow with the chain. Reports the first thing wrong; see
    :class:`ChainProblem`. A damaged file raises ``db.engine.DatabaseError`` (see
    ``db.engine.check_file``).
    """
    wanted = {(anchor.station_id, anchor.chain_seq) for anchor in anchors}
    seen: dict[tuple[str, int], str] = {}
    walks: dict[str, _StationWalk] = {}
    count = 0
    first: tuple[str | None, ChainProblem] | None = None
    with read_session(engine) as session:
        connection = session.connection().connection
        cursor, drop_offs, audits = connection.cursor(), connection.cursor(), connection.cursor()
        try:
            stations = sorted(
                {row[0] for row in cursor.execute(_STATIONS).fetchall()} | set(since or {})
            )
            heads = {row[0]: (row[1], row[2], row[3]) for row in cursor.execute(_HEADS)}
            for station in stations:
                start = None if since is None else since.get(station)
                walk = _StationWalk()
                if start is not None:
                    walk = walks[station] = _start_from(cursor, start)
                for key in wanted:
                    if key[0] == station and key[1] <= walk.seq:
                        found = cursor.execute(_LINK_HASH, key * 2).fetchone()
                        if found is not None:
                            seen[key] = found[0]
                links = heapq.merge(
                    drop_offs.execute(_DROP_OFF_LINKS, (station, walk.seq)),
                    audits.execute(_AUDIT_LINKS, (station, walk.seq)),
                    key=itemgetter(_SEQ),
                )
                for row in links:
                    count += 1
                    if first is not None:
                        continue
                    walks[station] = walk
                    problem = _check_link(row, walk)
                    if problem is not None:
                        first = (row[0], problem)
                        continue
                    walk.seq = row[_SEQ]
                    if len(row) == _AUDIT_WIDTH + 2:
                        walk.hash = row[_AUDIT_WIDTH + 1]
                    else:
                        walk.hash = row[_DROP_OFF_WIDTH + 1]
                        if row[3] is not None:
                            walk.last_label = row[3]
                    if (station, walk.seq) in wanted:
                        seen[(station, walk.seq)] = walk.hash
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"The database {database_path(engine)} refused the chain check: {exc}."
            ) from exc
        finally:
            for opened in (cursor, drop_offs, audits):
                opened.close()
    if first is None:
        problem = _check_heads(heads, walks)
        if problem is not None:
            first = (None, problem)
    if first is None:
        for anchor in anchors:
            problem = _check_anchor(anchor, walks, seen)
            if problem is not None:
                first = (None, problem)
                break
    heads_found = tuple(
        Anchor(station, walk.seq, walk.hash) for station, walk in sorted(walks.items())
    )
    if first is None:
        return ChainReport(ok=True, count=count, heads=heads_found, anchors=tuple(anchors))
    return ChainReport(
        ok=False,
        count=count,
        first_broken_id=first[0],
        problem=first[1].describe(),
        issue=first[1],
        heads=heads_found,
        anchors=tuple(anchors),
    )


def heads_in(connection: Connection) -> tuple[Anchor, ...]:
    """Each station's newest link as its head row names it, read in ``connection``'s
    transaction (so an export's anchors belong to the snapshot its rows come from)."""
    return read_chain_heads(connection.exec_driver_sql)


def chain_heads(engine: Engine) -> tuple[Anchor, ...]:
    """Each station's newest link, as its head row names it: the anchors to print on a
    slip or carry in an export (cheap: no walk; ``verify_chain`` checks them). The
    same SQL as ``counter totals`` reads through ``sqlite3`` (:mod:`db.anchor`)."""
    with read_session(engine) as session:
        return heads_in(session.connection())


# -- the last verified anchors (``counter verify --since-last``) -----------------------

VERIFIED_SUFFIX = ".verified"
_VERIFIED_HEADER = "# counter verify: each station's last verified link, STATION:SEQ:HASH"


class VerifiedFileUnreadable(ValueError):
    """The file of the last verified anchors holds something else than anchors."""


def verified_file(database: Path) -> Path:
    """Where the last verified anchors of ``database`` are kept: beside it."""
    return database.with_name(database.name + VERIFIED_SUFFIX)


def read_verified(path: Path) -> dict[str, Anchor]:
    """Each station's last verified anchor, from :func:`write_verified`'s file.

    A missing file raises ``FileNotFoundError``; one that cannot be read ``OSError``;
    one that holds anything but whole anchors (64 hex digits), one per station,
    :class:`VerifiedFileUnreadable`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise VerifiedFileUnreadable(f"{path} is not text") from exc
    anchors: dict[str, Anchor] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        try:
            anchor = Anchor.parse(line)
        except ValueError as exc:
            raise VerifiedFileUnreadable(f"{path}: {line!r} is not an anchor") from exc
        if len(anchor.digest) != 64 or anchor.station_id in anchors or anchor.chain_seq < 1:
            raise VerifiedFileUnreadable(f"{path}: {line!r} is not a whole anchor")
        anchors[anchor.station_id] = anchor
    if not anchors:
        raise VerifiedFileUnreadable(f"{path} holds no anchor")
    return anchors


def write_verified(path: Path, heads: Sequence[Anchor]) -> None:
    """Keep ``heads`` (a passed check's) as the last verified anchors, replacing the
    file in one step: a reader sees the old file or the new one, never half of one.
    Readable by the owner only, like the database. Raises ``OSError``."""
    text = "\n".join([_VERIFIED_HEADER, *(head.text(64) for head in heads)]) + "\n"
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    partial = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
