"""The on-screen label and the preview connection that stores jobs as files."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import qrcode
import qrcode.constants

from drivers.printer.connection import PrinterUnavailable
from drivers.printer.decode import decode_escpos
from drivers.printer.documents import ItemLabel, render_item_label, render_test_page
from drivers.printer.file import describe_os_error
from drivers.printer.preview import (
    PreviewConnection,
    PreviewLine,
    preview_escpos,
    preview_text,
    render_preview,
)

LABEL_CODE = "MS01-000123"


def label_bytes(profile: str = "TM-T20II") -> bytes:
    label = ItemLabel(
        label_code=LABEL_CODE,
        classification_title="Hergebruik",
        category="Fietsen € ë",
        eural_code="20 01 40",
        weight="12,34 kg",
        recorded_at_local=datetime(2024, 5, 3, 14, 5),
        station_name="Milieustraat Noord",
        copy_marker="HERDRUK",
    )
    return render_item_label(label, profile=profile)


def modules_from_blocks(lines: list[PreviewLine]) -> list[list[bool]]:
    """Read the half-block characters back into QR modules (True = dark)."""
    rows: list[list[bool]] = []
    for line in lines:
        rows.append([char in "█▀" for char in line.text])
        rows.append([char in "█▄" for char in line.text])
    return rows


def crop_to_dark(matrix: list[list[bool]]) -> list[list[bool]]:
    dark_rows = [i for i, row in enumerate(matrix) if any(row)]
    dark_cols = [j for j in range(len(matrix[0])) if any(row[j] for row in matrix)]
    return [
        row[dark_cols[0] : dark_cols[-1] + 1] for row in matrix[dark_rows[0] : dark_rows[-1] + 1]
    ]


def test_preview_qr_is_qrcodes_own_matrix_for_the_payload() -> None:
    lines = preview_escpos(label_bytes(), columns=48)
    qr_lines = [line for line in lines if line.kind == "qr"]
    assert qr_lines and all(line.dark_on_light for line in qr_lines)
    assert set("".join(line.text for line in qr_lines)) <= set("█▀▄ ")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(LABEL_CODE)
    code.make(fit=True)
    expected = [[bool(m) for m in row] for row in code.get_matrix()]
    shown = modules_from_blocks(qr_lines)
    assert crop_to_dark(shown) == expected
    # The light border of two modules is there on every side.
    assert not any(shown[0]) and not any(shown[1])
    assert not any(any(row[:2]) for row in shown)


def test_every_text_line_is_exactly_the_paper_width_with_alignment_applied() -> None:
    lines = preview_escpos(label_bytes(), columns=48)
    assert all(len(line.text) == 48 for line in lines)
    title = next(line for line in lines if "H e r g e b r u i k" in line.text)
    # Double width is spread out: 10 letters take 20 columns, centred in 48.
    assert title.text == " " * 14 + "H e r g e b r u i k " + " " * 14
    assert title.height_mult == 2
    styled = [span for span in title.spans if span.text.strip()]
    assert styled[0].bold and styled[0].width_mult == 2
    marker = next(line for line in lines if "H E R D R U K" in line.text)
    assert any(span.inverted for span in marker.spans)
    weight = next(line for line in lines if "12,34 kg" in line.text)
    assert weight.text.strip() == "Gewicht: 12,34 kg"
    assert any("Fietsen € ë" in line.text for line in lines)


def test_barcode_and_cut_are_shown_as_text() -> None:
    lines = preview_escpos(label_bytes(), columns=42, profile="TM-T88V")
    barcode = [line for line in lines if line.kind == "barcode"]
    assert [line.text.strip() for line in barcode] == [f"[{LABEL_CODE}]"]
    assert lines[-1].kind == "cut" and len(lines[-1].text) == 42


def test_right_alignment_and_plain_text() -> None:
    doc = decode_escpos(render_test_page("Sunmi-V2", "Noord"), columns=32, profile="Sunmi-V2")
    lines = render_preview(doc, 32)
    right = next(line for line in lines if line.text.strip() == "Right")
    assert right.text == " " * 27 + "Right" and right.align == "right"
    text = preview_text(lines)
    assert "Characters: € é ë ï ü" in text
    assert text.count("\n") == len(lines) - 1


# -- preview connection ----------------------------------------------------------


def fixed_clock() -> datetime:
    return datetime(2024, 5, 3, 12, 5, 1, 123456, tzinfo=UTC)


def test_preview_connection_writes_one_file_per_job(tmp_path: Path) -> None:
    connection = PreviewConnection(tmp_path / "preview", clock=fixed_clock)
    assert connection.kind == "preview"
    connection.send(b"first")
    first = connection.last_path
    connection.send(b"second")
    second = connection.last_path
    assert first is not None and second is not None
    assert first.name == "20240503T120501123456Z-000.escpos"
    assert second.name == "20240503T120501123456Z-001.escpos"
    assert first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert connection.jobs() == [first, second]
    assert str(tmp_path / "preview") in connection.describe()
    assert connection.status().ready is None  # nobody to ask


def test_preview_folder_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    connection = PreviewConnection(blocker / "preview")
    with pytest.raises(PrinterUnavailable) as raised:
        connection.send(b"job")
    assert str(raised.value) == (
        f"cannot create the preview folder {blocker / 'preview'}: "
        "part of the path is a file, not a folder"
    )
    assert not raised.value.uncertain
    assert connection.last_path is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_preview_folder_without_permission(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(PrinterUnavailable, match="permission denied"):
        PreviewConnection(folder).send(b"job")


def test_full_disk_message() -> None:
    message = describe_os_error(
        Path("/var/lib/counter/preview/job.escpos"),
        OSError(errno.ENOSPC, "No space left on device"),
        device=False,
    )
    assert message == (
        "cannot write to /var/lib/counter/preview/job.escpos: no space left — the disk is full"
    )


# -- the preview path: one file for every job, or a folder with a file per job -------


def test_a_preview_path_with_a_suffix_collects_every_job_in_that_file(tmp_path: Path) -> None:
    target = tmp_path / "x" / "label.escpos"  # its folder does not exist yet
    connection = PreviewConnection(target)
    assert connection.single_file

    connection.send(label_bytes())
    connection.send(b"\x1b@second job")

    assert target.is_file()  # a file, not a folder named label.escpos
    assert target.read_bytes() == label_bytes() + b"\x1b@second job"
    assert connection.last_path == target
    assert connection.jobs() == [target]
    assert sorted(p.name for p in target.parent.iterdir()) == ["label.escpos"]
    # Whole jobs one after the other: the label decodes back from the shared file.
    doc = decode_escpos(target.read_bytes(), columns=48, profile="TM-T20II")
    assert doc.qr_codes == [LABEL_CODE]
    assert doc.cuts == 1


def test_an_existing_file_without_a_suffix_gets_the_jobs_appended(tmp_path: Path) -> None:
    target = tmp_path / "labels"
    target.write_bytes(b"earlier jobs|")
    connection = PreviewConnection(target)

    connection.send(b"first|")
    connection.send(b"second|")

    assert target.read_bytes() == b"earlier jobs|first|second|"
    assert connection.jobs() == [target]


def test_an_existing_folder_with_a_suffix_is_still_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "labels.d"
    folder.mkdir()
    connection = PreviewConnection(folder, clock=fixed_clock)
    assert not connection.single_file

    connection.send(b"first")
    connection.send(b"second")

    assert [p.name for p in connection.jobs()] == [
        "20240503T120501123456Z-000.escpos",
        "20240503T120501123456Z-001.escpos",
    ]
    assert connection.last_path == folder / "20240503T120501123456Z-001.escpos"


def test_a_missing_path_without_a_suffix_becomes_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "labels"
    connection = PreviewConnection(folder, clock=fixed_clock)
    assert not connection.single_file

    connection.send(b"job")

    assert folder.is_dir()
    assert [p.read_bytes() for p in connection.jobs()] == [b"job"]


def test_a_preview_file_whose_folder_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    connection = PreviewConnection(blocker / "label.escpos")
    with pytest.raises(PrinterUnavailable) as raised:
        connection.send(b"job")
    assert str(raised.value).startswith(f"cannot create the preview folder {blocker}")
    assert not raised.value.uncertain
    assert connection.last_path is None


_HALF_A_JOB = """
import resource, signal, sys
from drivers.printer.connection import PrinterUnavailable
from drivers.printer.preview import PreviewConnection

target, limit = sys.argv[1], int(sys.argv[2])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    PreviewConnection(target).send(b"B" * 64)
except PrinterUnavailable as error:
    print("uncertain" if error.uncertain else "nothing kept", error)
    sys.exit(0)
sys.exit(1)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="file size limits are POSIX")
def test_a_job_that_does_not_fit_is_taken_out_of_the_preview_file(tmp_path: Path) -> None:
    target = tmp_path / "label.escpos"
    target.write_bytes(b"A" * 100)
    # The file may grow to 130 bytes: 30 bytes of the 64-byte job fit, the rest cannot.
    done = subprocess.run(
        [sys.executable, "-c", _HALF_A_JOB, str(target), "130"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nothing kept cannot write to")
    assert target.read_bytes() == b"A" * 100  # only whole jobs in the file


def test_a_device_as_preview_target_is_refused_with_advice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    import pytest

    from drivers.printer.connection import PrinterUnavailable
    from drivers.printer.preview import PreviewConnection

    fifo = tmp_path / "printer.pipe"
    os.mkfifo(fifo)
    with pytest.raises(PrinterUnavailable, match='connection = "file"') as caught:
        PreviewConnection(fifo).send(b"\x1b@label\n")
    assert not caught.value.uncertain  # nothing went out: no duplicate later
    with pytest.raises(PrinterUnavailable, match="not a regular file"):
        PreviewConnection(fifo.parent / ".." / tmp_path.name / "printer.pipe").send(b"x")
