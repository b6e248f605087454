"""The chain check behind ``counter verify``: every station's links, hashes, label
numbers and head, and anchors kept outside the database (see ``db.chain``)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col

from db.anchor import read_chain_heads
from db.chain import (
    GENESIS_HASH,
    Anchor,
    audit_hash,
    drop_off_hash,
)
from db.engine import read_session
from db.models import (
    AuditEntry,
    CapturedReading,
    DropOff,
    LabelSequence,
)

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


def _row_facts(row: DropOff | AuditEntry) -> dict[str, Any]:
    if isinstance(row, AuditEntry):
        return {
            "row": f"the audit entry {row.action!r} of {row.entity} {row.entity_id}",
            "kind": "audit",
            "action": row.action,
            "seq": row.chain_seq,
        }
    if row.label_code is not None:
        return {
            "row": f"drop-off {row.label_code}",
            "kind": "drop_off",
            "label": row.label_code,
            "seq": row.chain_seq,
        }
    return {
        "row": f"the void at position {row.chain_seq} of station {row.station_id}",
        "kind": "void",
        "seq": row.chain_seq,
    }


@dataclass(slots=True)
class _StationWalk:
    """What the walk knows of one station's chain so far."""

    seq: int = 0
    hash: str = GENESIS_HASH
    last_label: int = 0


def _links(session: Session) -> Iterator[tuple[DropOff | AuditEntry, CapturedReading | None]]:
    """Every link of every station, in chain order: drop-off rows and audit entries
    merged by ``(station_id, chain_seq)``."""
    drop_offs = session.execute(
        select(DropOff, CapturedReading)
        .outerjoin(CapturedReading, col(DropOff.reading_id) == col(CapturedReading.id))
        .order_by(col(DropOff.station_id), col(DropOff.chain_seq))
        .execution_options(yield_per=1000)
    )
    audits = (
        (entry, None)
        for entry in session.execute(
            select(AuditEntry)
            .order_by(col(AuditEntry.station_id), col(AuditEntry.chain_seq))
            .execution_options(yield_per=1000)
        ).scalars()
    )
    return heapq.merge(drop_offs, audits, key=lambda pair: (pair[0].station_id, pair[0].chain_seq))


def _check_link(
    row: DropOff | AuditEntry, reading: CapturedReading | None, walk: _StationWalk
) -> ChainProblem | None:
    expected = walk.seq + 1
    if row.chain_seq != expected:
        return ChainProblem(
            "position",
            {
                **_row_facts(row),
                "station": row.station_id,
                "found": row.chain_seq,
                "expected": expected,
            },
        )
    if row.prev_hash != walk.hash:
        return ChainProblem("link", _row_facts(row))
    if isinstance(row, AuditEntry):
        if audit_hash(row) != row.content_hash:
            return ChainProblem("changed", _row_facts(row))
        return None
    if row.reading_id is not None and reading is None:
        return ChainProblem("reading_missing", _row_facts(row))
    if drop_off_hash(row, reading) != row.content_hash:
        return ChainProblem("changed", _row_facts(row))
    if row.label_no is not None and row.label_no != walk.last_label + 1:
        return ChainProblem(
            "label_gap",
            {**_row_facts(row), "found": row.label_no, "expected": walk.last_label + 1},
        )
    return None


def _check_heads(session: Session, walks: dict[str, _StationWalk]) -> ChainProblem | None:
    heads = {head.station_id: head for head in session.execute(select(LabelSequence)).scalars()}
    for station in sorted(set(heads) | set(walks)):
        walk = walks.get(station, _StationWalk())
        head = heads.get(station)
        if head is None:
            return ChainProblem("head_missing", {"station": station})
        if head.chain_seq < walk.seq:
            return ChainProblem(
                "head_behind", {"station": station, "head": head.chain_seq, "tail": walk.seq}
            )
        if head.chain_seq > walk.seq or head.chain_hash != walk.hash:
            return ChainProblem(
                "head_ahead", {"station": station, "head": head.chain_seq, "tail": walk.seq}
            )
        if head.last_no != walk.last_label:
            return ChainProblem(
                "label_head", {"station": station, "head": head.last_no, "tail": walk.last_label}
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


def verify_chain(engine: Engine, anchors: Sequence[Anchor] = ()) -> ChainReport:
    """Check every station's chain: positions, links, hashes, label numbers, the
    station heads, and that the chain still holds each of ``anchors``.

    Reports the first thing wrong; see :class:`ChainProblem` for what can be found.
    A damaged file raises ``db.engine.DatabaseError`` (see ``db.engine.check_file``).
    """
    wanted = {(anchor.station_id, anchor.chain_seq) for anchor in anchors}
    seen: dict[tuple[str, int], str] = {}
    walks: dict[str, _StationWalk] = {}
    count = 0
    first: tuple[str | None, ChainProblem] | None = None
    with read_session(engine) as session:
        for row, reading in _links(session):
            count += 1
            if first is not None:
                continue
            walk = walks.setdefault(row.station_id, _StationWalk())
            problem = _check_link(row, reading, walk)
            if problem is not None:
                first = (row.id, problem)
                continue
            walk.seq, walk.hash = row.chain_seq, row.content_hash
            if isinstance(row, DropOff) and row.label_no is not None:
                walk.last_label = row.label_no
            if (row.station_id, row.chain_seq) in wanted:
                seen[(row.station_id, row.chain_seq)] = row.content_hash
        if first is None:
            problem = _check_heads(session, walks)
            if problem is not None:
                first = (None, problem)
    if first is None:
        for anchor in anchors:
            problem = _check_anchor(anchor, walks, seen)
            if problem is not None:
                first = (None, problem)
                break
    heads = tuple(Anchor(station, walk.seq, walk.hash) for station, walk in sorted(walks.items()))
    if first is None:
        return ChainReport(ok=True, count=count, heads=heads, anchors=tuple(anchors))
    return ChainReport(
        ok=False,
        count=count,
        first_broken_id=first[0],
        problem=first[1].describe(),
        issue=first[1],
        heads=heads,
        anchors=tuple(anchors),
    )


def chain_heads(engine: Engine) -> tuple[Anchor, ...]:
    """Each station's newest link, as its head row names it: the anchors to print on a
    slip or carry in an export (cheap: no walk; ``verify_chain`` checks them). The
    same SQL as ``counter totals`` reads through ``sqlite3`` (:mod:`db.anchor`)."""
    with read_session(engine) as session:
        return read_chain_heads(session.connection().exec_driver_sql)
