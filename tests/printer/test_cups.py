"""CupsConnection through a real ``lp`` subprocess: a stand-in script first on PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drivers.printer import cups as cups_printer
from drivers.printer.connection import PrinterUnavailable
from drivers.printer.cups import CupsConnection

# Behaves like CUPS's lp for the queue "labels": takes the job from standard input and
# prints the request id; any other queue is refused with lp's own message.
FAKE_LP = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_LP_DIR/args"
queue=""
while [ $# -gt 0 ]; do
    if [ "$1" = "-d" ]; then queue="$2"; shift; fi
    shift
done
if [ -n "$queue" ] && [ "$queue" != "labels" ]; then
    echo "lp: The printer or class does not exist." >&2
    exit 1
fi
cat > "$FAKE_LP_DIR/job"
echo "request id is ${queue:-default}-1 (1 file(s))"
"""


@pytest.fixture
def fake_lp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "lp"
    script.write_text(FAKE_LP)
    script.chmod(0o755)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_LP_DIR", str(spool))
    return spool


def test_job_goes_to_lp_raw_and_byte_exact(fake_lp: Path) -> None:
    data = b"\x1b@MS01-000123\n" + bytes(range(256)) + b"\x1dVA\x00"

    CupsConnection("labels").send(data)

    assert (fake_lp / "job").read_bytes() == data
    args = (fake_lp / "args").read_text().splitlines()
    assert args[:2] == ["-d", "labels"]
    assert args[-2:] == ["-o", "raw"]


def test_empty_queue_means_the_default_printer(fake_lp: Path) -> None:
    CupsConnection("").send(b"label\n")

    assert (fake_lp / "job").read_bytes() == b"label\n"
    assert "-d" not in (fake_lp / "args").read_text().splitlines()


def test_unknown_queue_is_unavailable_with_lps_reason(fake_lp: Path) -> None:
    with pytest.raises(PrinterUnavailable) as error:
        CupsConnection("nosuch").send(b"label\n")

    message = str(error.value)
    assert "'nosuch'" in message
    assert "does not exist" in message
    assert error.value.uncertain is False
    assert not (fake_lp / "job").exists()


def test_missing_lp_and_pycups_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    def no_pycups() -> object:
        raise ImportError("No module named 'cups'")

    monkeypatch.setattr(cups_printer, "_import_pycups", no_pycups)

    with pytest.raises(PrinterUnavailable) as error:
        CupsConnection("labels").send(b"label\n")

    assert "neither the lp command nor the pycups package" in str(error.value)


def test_status_is_unknown() -> None:
    status = CupsConnection("labels").status()

    assert status.answered is False
    assert status.ready is None
    assert CupsConnection("labels").describe() == "CUPS queue labels"
