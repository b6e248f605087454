"""``counter printer test | status | queue`` with the preview connection and a real TCP printer."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from printer.escpos_fake_printer import FakeEscposPrinter

from counter_app import cli_printer
from counter_app.cli import CliContext, main
from db.engine import open_database
from db.printjobs import mark_failed
from db.records import NewDropOff, record_drop_off
from drivers.printer.decode import decode_escpos

ConfigFile = Callable[..., Path]  # the config_file fixture of conftest.py


def run_handler(handler, config: Path) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    code = handler(argparse.Namespace(), CliContext(config_arg=str(config), out=out, err=err))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def fake() -> Iterator[FakeEscposPrinter]:
    with FakeEscposPrinter(lifetime=20) as printer:
        yield printer


def network_config(config_file: ConfigFile, port: int) -> Path:
    return config_file(
        f"""
        [station]
        name = "Milieustraat Test"
        [printer]
        connection = "network"
        host = "127.0.0.1"
        port = {port}
        """
    )


def preview_config(config_file: ConfigFile, tmp_path: Path) -> Path:
    return config_file(
        f"""
        [station]
        name = "Milieustraat Test"
        [printer]
        connection = "preview"
        profile = "TM-T88V"
        path = "{tmp_path / "labels"}"
        [database]
        path = "{tmp_path / "counter.sqlite3"}"
        """
    )


# -- counter printer test ----------------------------------------------------------------


def test_test_page_to_the_preview_folder(config_file: ConfigFile, tmp_path: Path) -> None:
    code, out, err = run_handler(cli_printer.test, preview_config(config_file, tmp_path))

    assert (code, err) == (0, "")
    (page,) = sorted((tmp_path / "labels").glob("*.escpos"))
    data = page.read_bytes()
    assert out == f"test page sent to preview file {page} ({len(data)} bytes, profile TM-T88V)\n"
    doc = decode_escpos(data, columns=42, profile="TM-T88V")
    assert "Printer test" in doc.text
    assert "Milieustraat Test" in doc.text
    assert "Profile TM-T88V" in doc.text
    assert doc.qr_codes == ["TEST-QR-0123"]


def test_test_page_to_a_network_printer(config_file: ConfigFile, fake: FakeEscposPrinter) -> None:
    code, out, err = run_handler(cli_printer.test, network_config(config_file, fake.port))

    assert (code, err) == (0, "")
    assert out.startswith(f"test page sent to network printer 127.0.0.1:{fake.port} (")
    (job,) = fake.wait_for_jobs(1)
    doc = decode_escpos(job, columns=48, profile="TM-T20II")
    assert "Printer test" in doc.text
    assert doc.cuts == 1


def test_test_page_to_a_printer_that_is_off(
    config_file: ConfigFile, fake: FakeEscposPrinter
) -> None:
    fake.refuse_connections()

    code, out, err = run_handler(cli_printer.test, network_config(config_file, fake.port))

    assert (code, out) == (1, "")
    assert err.startswith(
        f"test page not printed: printer at 127.0.0.1:{fake.port} refuses the connection"
    )


def test_test_page_waits_for_a_printer_out_of_paper_unless_forced(
    config_file: ConfigFile, fake: FakeEscposPrinter
) -> None:
    fake.mode = "paper_out"
    config = network_config(config_file, fake.port)

    code, out, err = run_handler(cli_printer.test, config)
    assert (code, out) == (1, "")
    assert "paper" in err and "--force" in err
    assert fake.jobs == []

    out_stream, err_stream = io.StringIO(), io.StringIO()
    ctx = CliContext(config_arg=str(config), out=out_stream, err=err_stream)
    assert cli_printer.test(argparse.Namespace(force=True), ctx) == 0
    (job,) = fake.wait_for_jobs(1)
    assert b"Printer test" in job


# -- counter printer status --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "exit_code", "lines"),
    [
        (
            "online",
            0,
            ["online: online", "cover: closed", "paper: ok", "error: no", "ready: yes"],
        ),
        (
            "paper_near_end",
            0,
            ["online: online", "cover: closed", "paper: near end", "error: no", "ready: yes"],
        ),
        (
            "paper_out",
            1,
            ["online: offline", "cover: closed", "paper: out", "error: no", "ready: no"],
        ),
        (
            "cover_open",
            1,
            ["online: offline", "cover: open", "paper: ok", "error: no", "ready: no"],
        ),
        (
            "error",
            1,
            [
                "online: offline",
                "cover: closed",
                "paper: ok",
                "error: yes (cutter jam or overheated head)",
                "ready: no",
            ],
        ),
    ],
)
def test_status_in_words(
    config_file: ConfigFile,
    fake: FakeEscposPrinter,
    mode: str,
    exit_code: int,
    lines: list[str],
) -> None:
    fake.mode = mode

    code, out, err = run_handler(cli_printer.status, network_config(config_file, fake.port))

    assert (code, err) == (exit_code, "")
    assert out.splitlines() == [f"printer: network printer 127.0.0.1:{fake.port}", *lines]
    assert fake.jobs == []  # asking prints nothing


def test_status_of_a_silent_printer_is_no_answer(
    config_file: ConfigFile, fake: FakeEscposPrinter
) -> None:
    fake.mode = "silent"

    code, out, _ = run_handler(cli_printer.status, network_config(config_file, fake.port))

    assert code == 1
    assert out.splitlines()[1] == (
        "status: no answer: the printer took the connection but did not reply to DLE EOT"
    )


def test_status_of_a_printer_that_is_off(config_file: ConfigFile, fake: FakeEscposPrinter) -> None:
    fake.refuse_connections()

    code, out, _ = run_handler(cli_printer.status, network_config(config_file, fake.port))

    assert code == 1
    assert out.splitlines()[1].startswith(
        f"status: not reachable: printer at 127.0.0.1:{fake.port} refuses the connection"
    )


def test_status_of_the_preview_connection_is_unknown(
    config_file: ConfigFile, tmp_path: Path
) -> None:
    code, out, err = run_handler(cli_printer.status, preview_config(config_file, tmp_path))

    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"printer: preview {tmp_path / 'labels'}",
        "status: unknown: this connection cannot ask (preview takes jobs but gives no answers)",
    ]
    assert not (tmp_path / "labels").exists()  # nothing was written


# -- counter printer queue ---------------------------------------------------------------


def test_queue_without_a_database(config_file: ConfigFile, tmp_path: Path) -> None:
    code, out, err = run_handler(cli_printer.queue, preview_config(config_file, tmp_path))

    assert (code, out) == (1, "")
    assert str(tmp_path / "counter.sqlite3") in err
    assert not (tmp_path / "counter.sqlite3").exists()  # not created by looking


def test_queue_lists_the_waiting_jobs(config_file: ConfigFile, tmp_path: Path) -> None:
    config = preview_config(config_file, tmp_path)
    engine = open_database(tmp_path / "counter.sqlite3")
    try:
        assert run_handler(cli_printer.queue, config) == (0, "no print jobs waiting\n", "")
        at = datetime(2024, 5, 3, 10, 15, tzinfo=UTC)
        jobs = []
        for minutes, grams in ((0, 1200), (1, 3400)):
            recorded = record_drop_off(
                engine,
                NewDropOff(
                    station_id="MS01",
                    classification="repair",
                    category_code="fietsen",
                    category_name="Fietsen",
                    eural_code=None,
                    weight_grams=grams,
                    weight_source="manual",
                    operator="balie",
                    reading=None,
                    reason="weegschaal in onderhoud",
                ),
                now=at + timedelta(minutes=minutes),
            )
            jobs.append(recorded.print_job_id or "")
        mark_failed(engine, jobs[0], "the printer is out of paper", uncertain=False)
    finally:
        engine.dispose()

    code, out, err = run_handler(cli_printer.queue, config)

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "2 print job(s) waiting, oldest first:",
        "2024-05-03 12:15:00  MS01-000001  item_label  failed  attempts 1"
        "  last error: the printer is out of paper",
        "2024-05-03 12:16:00  MS01-000002  item_label  queued  attempts 0",
    ]


# -- through the command line ------------------------------------------------------------


def test_the_commands_are_registered(
    config_file: ConfigFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = preview_config(config_file, tmp_path)

    assert main(["--config", str(config), "printer", "status"]) == 1
    assert "status: unknown" in capsys.readouterr().out
    assert main(["printer", "test", "--config", str(config)]) == 0
    assert "test page sent to preview file" in capsys.readouterr().out
    assert main(["--config", str(config), "printer"]) == 2
    assert "test" in capsys.readouterr().err


def test_a_wrong_printer_setting_is_named(config_file: ConfigFile) -> None:
    config = config_file('[printer]\nconnection = "network"\n')

    assert main(["--config", str(config), "printer", "test"]) == 2
