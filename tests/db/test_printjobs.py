"""The print queue in the database: order, retries, duplicates, reprints, cancels, audit."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from db.printjobs import (
    INTERRUPTED_ERROR,
    INTERRUPTED_FAULT,
    PrintJobClaimed,
    PrintJobStateError,
    adopt_unassigned_jobs,
    attempt_interrupted,
    begin_attempt,
    cancel,
    mark_failed,
    mark_sent,
    pending_print_jobs,
    print_job,
    queue_document,
    queue_reprint,
    settle_interrupted_attempt,
)
from db.queries import RecordedDropOff, RecordNotFound, drop_off_by_id
from db.writes import NewDropOff, record_drop_off, void_drop_off

T0 = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


def record(engine: Engine, at: datetime = T0) -> RecordedDropOff:
    return record_drop_off(
        engine,
        NewDropOff(
            station_id="MS01",
            classification="repair",
            category_code="bicycles",
            category_name="Fietsen",
            eural_code=None,
            weight_grams=14500,
            weight_source="manual",
            operator="anna",
            reading=None,
            reason="bicycle on the floor scale",
        ),
        now=at,
    )


def audit(db_path: Path, entity_id: str) -> list[tuple[str, str, dict[str, object]]]:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT actor, action, detail FROM audit_entry WHERE entity_id = ? ORDER BY at",
            (entity_id,),
        ).fetchall()
    return [(actor, action, json.loads(detail)) for actor, action, detail in rows]


def test_recorded_drop_offs_wait_in_order(engine: Engine) -> None:
    first = record(engine, T0)
    second = record(engine, T0 + timedelta(seconds=1))
    third = record(engine, T0)  # same instant as the first: queue order still holds
    pending = pending_print_jobs(engine)
    assert [job.id for job in pending] == [
        first.print_job_id,
        third.print_job_id,
        second.print_job_id,
    ]
    job = pending[0]
    assert job.document == "item_label"
    assert job.status == "queued"
    assert job.label_code == "MS01-000001"
    assert job.drop_off_id == first.id
    assert job.attempts == 0
    assert job.copy_marker is None


def test_sent_job_leaves_the_queue(engine: Engine, db_path: Path) -> None:
    recorded = record(engine)
    assert recorded.print_job_id is not None
    sent = mark_sent(engine, recorded.print_job_id, now=T0 + timedelta(seconds=2))
    assert sent.status == "sent"
    assert sent.attempts == 1
    assert sent.sent_at == T0 + timedelta(seconds=2)
    assert pending_print_jobs(engine) == []
    assert print_job(engine, recorded.print_job_id) == sent
    assert drop_off_by_id(engine, recorded.id).print_status == "sent"
    assert [a[1] for a in audit(db_path, recorded.print_job_id)] == ["print_job.sent"]


def test_failures_are_retried_and_an_uncertain_one_marks_a_duplicate(
    engine: Engine, db_path: Path
) -> None:
    job_id = record(engine).print_job_id
    assert job_id is not None
    failed = mark_failed(engine, job_id, "printer unreachable", uncertain=False)
    assert (failed.status, failed.attempts, failed.copy_marker) == ("failed", 1, None)
    assert failed.last_error == "printer unreachable"
    assert [job.id for job in pending_print_jobs(engine)] == [job_id]

    assert failed.last_fault is None  # nobody gave a code
    failed = mark_failed(
        engine, job_id, "connection lost while sending", uncertain=True, fault="io_error"
    )
    assert (failed.status, failed.attempts, failed.copy_marker) == ("failed", 2, "duplicate")
    assert (failed.last_error, failed.last_fault) == ("connection lost while sending", "io_error")

    sent = mark_sent(engine, job_id)
    assert (sent.status, sent.attempts, sent.copy_marker) == ("sent", 3, "duplicate")
    assert (sent.last_error, sent.last_fault) == (None, None)
    entries = audit(db_path, job_id)
    assert [action for _, action, _ in entries] == [
        "print_job.failed",
        "print_job.failed",
        "print_job.sent",
    ]
    assert entries[1][2]["uncertain"] is True
    assert entries[1][2]["error"] == "connection lost while sending"


def test_reprint_is_a_new_job_marked_reprint(engine: Engine, db_path: Path) -> None:
    recorded = record(engine)
    assert recorded.print_job_id is not None
    mark_sent(engine, recorded.print_job_id)
    job_id = queue_reprint(engine, recorded.id, "anna", now=T0 + timedelta(minutes=5))
    job = print_job(engine, job_id)
    assert (job.status, job.copy_marker, job.reprint_of) == (
        "queued",
        "reprint",
        recorded.print_job_id,
    )
    assert [j.id for j in pending_print_jobs(engine)] == [job_id]
    # An uncertain failure of a reprint keeps the reprint marker.
    assert mark_failed(engine, job_id, "cut", uncertain=True).copy_marker == "reprint"
    assert audit(db_path, job_id)[0][:2] == ("anna", "print_job.queued")
    assert drop_off_by_id(engine, recorded.id).print_job_id == recorded.print_job_id


def test_cancel_takes_a_job_out_of_the_queue(engine: Engine, db_path: Path) -> None:
    job_id = record(engine).print_job_id
    assert job_id is not None
    cancelled = cancel(engine, job_id, "technician")
    assert cancelled.status == "cancelled"
    assert pending_print_jobs(engine) == []
    assert audit(db_path, job_id) == [("technician", "print_job.cancelled", {})]


def test_changes_a_job_state_does_not_allow(engine: Engine) -> None:
    job_id = record(engine).print_job_id
    assert job_id is not None
    mark_sent(engine, job_id)
    with pytest.raises(PrintJobStateError, match="is sent"):
        mark_sent(engine, job_id)
    with pytest.raises(PrintJobStateError):
        mark_failed(engine, job_id, "late", uncertain=False)
    with pytest.raises(PrintJobStateError):
        cancel(engine, job_id, "anna")
    with pytest.raises(RecordNotFound):
        mark_sent(engine, "no-such-job")
    with pytest.raises(RecordNotFound):
        print_job(engine, "no-such-job")
    with pytest.raises(RecordNotFound):
        queue_reprint(engine, "no-such-drop-off", "anna")


def test_a_voided_drop_off_is_not_reprinted(engine: Engine) -> None:
    recorded = record(engine)
    void = void_drop_off(engine, recorded.id, "teamleider", "entered twice")
    with pytest.raises(ValueError, match="voided"):
        queue_reprint(engine, recorded.id, "anna")
    with pytest.raises(ValueError, match="void"):
        queue_reprint(engine, void.id, "anna")
    assert pending_print_jobs(engine) == []  # its waiting label was cancelled


def test_documents_without_a_drop_off(engine: Engine) -> None:
    job_id = queue_document(engine, "test_page", "technician", station_id="MS01")
    job = print_job(engine, job_id)
    assert (job.document, job.drop_off_id, job.label_code) == ("test_page", None, None)
    with pytest.raises(ValueError):
        queue_document(engine, "item_label", "technician", station_id="MS01")
    with pytest.raises(ValueError):
        queue_document(engine, "poster", "technician", station_id="MS01")


# -- delivery attempts: begun before sending, ended by sent or failed ------------------


def test_an_attempt_that_began_and_never_ended_is_settled_as_an_uncertain_failure(
    engine: Engine, db_path: Path
) -> None:
    job_id = record(engine).print_job_id
    assert job_id is not None
    assert not attempt_interrupted(engine, job_id)
    begun = begin_attempt(engine, job_id)
    assert (begun.status, begun.attempts, begun.copy_marker) == ("queued", 0, None)
    assert attempt_interrupted(engine, job_id)  # e.g. the counter was killed here

    settled = settle_interrupted_attempt(engine, job_id)

    assert (settled.status, settled.attempts, settled.copy_marker) == ("failed", 1, "duplicate")
    assert (settled.last_error, settled.last_fault) == (INTERRUPTED_ERROR, INTERRUPTED_FAULT)
    assert not attempt_interrupted(engine, job_id)
    assert settle_interrupted_attempt(engine, job_id) == settled  # nothing more to settle
    begin_attempt(engine, job_id)
    sent = mark_sent(engine, job_id)
    assert (sent.status, sent.attempts, sent.copy_marker) == ("sent", 2, "duplicate")
    assert [action for _, action, _ in audit(db_path, job_id)] == [
        "print_job.sending",
        "print_job.failed",
        "print_job.sending",
        "print_job.sent",
    ]


def test_attempts_that_ended_leave_the_job_as_it_is(engine: Engine) -> None:
    job_id = record(engine).print_job_id
    assert job_id is not None
    begin_attempt(engine, job_id)
    mark_failed(engine, job_id, "printer unreachable", uncertain=False)
    assert not attempt_interrupted(engine, job_id)
    settled = settle_interrupted_attempt(engine, job_id)
    assert (settled.status, settled.attempts, settled.copy_marker) == ("failed", 1, None)
    begin_attempt(engine, job_id)
    assert mark_sent(engine, job_id).copy_marker is None


def test_an_interrupted_reprint_keeps_its_reprint_marker(engine: Engine) -> None:
    recorded = record(engine)
    assert recorded.print_job_id is not None
    mark_sent(engine, recorded.print_job_id)
    job_id = queue_reprint(engine, recorded.id, "anna")
    begin_attempt(engine, job_id)
    assert settle_interrupted_attempt(engine, job_id).copy_marker == "reprint"


def test_no_attempt_begins_for_a_job_that_no_longer_waits(engine: Engine) -> None:
    job_id = record(engine).print_job_id
    assert job_id is not None
    cancel(engine, job_id, "anna")
    with pytest.raises(PrintJobStateError, match="cancelled"):
        begin_attempt(engine, job_id)
    with pytest.raises(PrintJobStateError):
        settle_interrupted_attempt(engine, job_id)


# -- stations and claims -----------------------------------------------------------------


def record_at(engine: Engine, station: str) -> RecordedDropOff:
    return record_drop_off(
        engine,
        NewDropOff(
            station_id=station,
            classification="repair",
            category_code="bicycles",
            category_name="Fietsen",
            eural_code=None,
            weight_grams=14500,
            weight_source="manual",
            operator="anna",
            reading=None,
            reason="bicycle on the floor scale",
        ),
        now=T0,
    )


def test_each_station_sees_only_its_own_jobs(engine: Engine) -> None:
    ms01, ms02 = record_at(engine, "MS01"), record_at(engine, "MS02")
    slip = queue_document(engine, "test_page", "technician", station_id="MS02")

    assert [j.id for j in pending_print_jobs(engine, "MS01")] == [ms01.print_job_id]
    assert [j.id for j in pending_print_jobs(engine, "MS02")] == [ms02.print_job_id, slip]
    assert len(pending_print_jobs(engine)) == 3
    assert print_job(engine, ms02.print_job_id or "").station_id == "MS02"


def test_a_station_cannot_claim_another_stations_job(engine: Engine) -> None:
    job_id = record_at(engine, "MS02").print_job_id or ""

    with pytest.raises(PrintJobStateError, match="station MS02"):
        begin_attempt(engine, job_id, station_id="MS01")

    assert not attempt_interrupted(engine, job_id)


def test_a_reprint_prints_at_the_station_that_asked_for_it(engine: Engine) -> None:
    recorded = record_at(engine, "MS01")

    assert print_job(engine, queue_reprint(engine, recorded.id, "anna")).station_id == "MS01"
    again = queue_reprint(engine, recorded.id, "anna", station_id="MS02")
    assert print_job(engine, again).station_id == "MS02"


_CLAIMER = """
import sys
from db.engine import open_database
from db.printjobs import begin_attempt

begin_attempt(open_database(sys.argv[1]), sys.argv[2], station_id="MS01")
print("claimed", flush=True)
sys.stdin.readline()  # still sending, as far as anyone can tell
"""


def test_a_job_another_live_process_is_sending_cannot_be_claimed_or_settled(
    engine: Engine, db_path: Path
) -> None:
    job_id = record(engine).print_job_id or ""
    claimer = subprocess.Popen(
        [sys.executable, "-c", _CLAIMER, str(db_path), job_id],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert claimer.stdout is not None
        assert claimer.stdout.readline().strip() == "claimed"

        # It runs: its attempt is not "interrupted", and nobody else may send the job.
        assert settle_interrupted_attempt(engine, job_id).copy_marker is None
        with pytest.raises(PrintJobClaimed):
            begin_attempt(engine, job_id, station_id="MS01")
    finally:
        assert claimer.stdin is not None
        claimer.stdin.close()
        claimer.wait(timeout=30)

    # Gone without ending its attempt: the label may have printed.
    job = settle_interrupted_attempt(engine, job_id)
    assert (job.status, job.copy_marker, job.last_error) == (
        "failed",
        "duplicate",
        INTERRUPTED_ERROR,
    )
    begin_attempt(engine, job_id, station_id="MS01")


def test_an_attempt_names_its_claimant(engine: Engine, db_path: Path) -> None:
    job_id = record(engine).print_job_id or ""

    begin_attempt(engine, job_id, station_id="MS01")

    (sending,) = [d for _, action, d in audit(db_path, job_id) if action == "print_job.sending"]
    assert sending["claimant"] == {"pid": os.getpid(), "host": socket.gethostname()}


def test_waiting_jobs_without_a_station_are_adopted_once(engine: Engine, db_path: Path) -> None:
    page = queue_document(engine, "test_page", "technician", station_id="MS01")
    done = queue_document(engine, "test_page", "technician", station_id="MS01")
    mark_sent(engine, done)
    with sqlite3.connect(db_path) as connection:  # as migration 0002 leaves them
        connection.execute("UPDATE print_job SET station_id = NULL")

    assert adopt_unassigned_jobs(engine, "MS02") == [page]
    assert adopt_unassigned_jobs(engine, "MS01") == []

    assert print_job(engine, page).station_id == "MS02"
    assert print_job(engine, done).station_id is None  # finished: history stays as it was
    assert audit(db_path, page)[-1][1] == "print_job.adopted"
