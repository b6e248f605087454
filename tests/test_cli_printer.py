"""``counter printer test | status | queue`` with the preview connection and a real TCP printer.

The words are Dutch by default and English with ``language = "en"``; a reason given by
the printer driver or the database stays English in both.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from printer.escpos_fake_printer import FakeEscposPrinter

from counter_app.cli import CliContext, main
from counter_app.cli import printer as cli_printer
from counter_app.i18n import Messages
from db.engine import open_database
from db.printjobs import mark_failed
from db.writes import NewDropOff, record_drop_off
from drivers.printer.decode import decode_escpos
from drivers.printer.factory import make_connection
from drivers.printer.settings import read_printer_settings

ConfigFile = Callable[..., Path]  # the config_file fixture of conftest.py


def run_handler(handler, config: Path) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    code = handler(argparse.Namespace(), CliContext(config_arg=str(config), out=out, err=err))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def fake() -> Iterator[FakeEscposPrinter]:
    with FakeEscposPrinter(lifetime=20) as printer:
        yield printer


def network_config(config_file: ConfigFile, port: int, language: str = "nl") -> Path:
    return config_file(
        f"""
        language = "{language}"
        [station]
        name = "Milieustraat Test"
        [printer]
        connection = "network"
        host = "127.0.0.1"
        port = {port}
        """,
        name=f"network-{language}.toml",
    )


def preview_config(config_file: ConfigFile, tmp_path: Path, language: str = "nl") -> Path:
    return config_file(
        f"""
        language = "{language}"
        [station]
        name = "Milieustraat Test"
        [printer]
        connection = "preview"
        profile = "TM-T88V"
        path = "{tmp_path / "labels"}"
        [database]
        path = "{tmp_path / "counter.sqlite3"}"
        """,
        name=f"preview-{language}.toml",
    )


# -- counter printer test ----------------------------------------------------------------


def test_test_page_to_the_preview_folder(config_file: ConfigFile, tmp_path: Path) -> None:
    code, out, err = run_handler(cli_printer.test, preview_config(config_file, tmp_path))

    assert (code, err) == (0, "")
    (page,) = sorted((tmp_path / "labels").glob("*.escpos"))
    data = page.read_bytes()
    assert out == (
        f"testpagina verstuurd naar voorbeeldbestand {page} ({len(data)} bytes, profiel TM-T88V)\n"
    )
    doc = decode_escpos(data, columns=42, profile="TM-T88V")
    assert "Printer test" in doc.text
    assert "Milieustraat Test" in doc.text
    assert "Profile TM-T88V" in doc.text
    assert doc.qr_codes == ["TEST-QR-0123"]


def test_test_page_to_a_network_printer(config_file: ConfigFile, fake: FakeEscposPrinter) -> None:
    code, out, err = run_handler(cli_printer.test, network_config(config_file, fake.port))

    assert (code, err) == (0, "")
    assert out.startswith(f"testpagina verstuurd naar netwerkprinter 127.0.0.1:{fake.port} (")
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
    # The driver's reason, in words.
    assert err.startswith(
        f"testpagina niet afgedrukt: 127.0.0.1:{fake.port}: weigert de verbinding"
    )


def test_test_page_waits_for_a_printer_out_of_paper_unless_forced(
    config_file: ConfigFile, fake: FakeEscposPrinter, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.mode = "paper_out"
    config = network_config(config_file, fake.port)
    # The forced page is never confirmed: wait half a second for that, not the 5 s a
    # real printer gets.
    configured_connection = cli_printer._connection

    def impatient_connection(ctx: CliContext, messages: Messages) -> Any:
        connection = configured_connection(ctx, messages)
        assert connection is not None
        connection.timeout = 0.5  # type: ignore[attr-defined]
        return connection

    monkeypatch.setattr(cli_printer, "_connection", impatient_connection)

    code, out, err = run_handler(cli_printer.test, config)
    assert (code, out) == (1, "")
    assert err == (
        "testpagina niet afgedrukt: de printer meldt papier op "
        "(met --force wordt hij toch verstuurd)\n"
    )
    assert fake.jobs == []

    out_stream, err_stream = io.StringIO(), io.StringIO()
    ctx = CliContext(config_arg=str(config), out=out_stream, err=err_stream)
    # Sent anyway; a printer out of paper cannot confirm it printed, and says so.
    assert cli_printer.test(argparse.Namespace(force=True), ctx) == 1
    (job,) = fake.wait_for_jobs(1)
    assert b"Printer test" in job
    assert "afdruk niet bevestigd" in err_stream.getvalue()


# -- where the bytes go ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "settings", "dutch"),
    [
        ("network", {"host": "10.0.0.9", "port": 9100}, "netwerkprinter 10.0.0.9:9100"),
        (
            "serial",
            {"path": "/dev/ttyS0", "baudrate": 19200},
            "seriële printer op /dev/ttyS0 (19200 baud)",
        ),
        ("file", {"path": "/dev/usb/lp0"}, "bestand /dev/usb/lp0"),
        ("preview", {"path": "/tmp/labels"}, "voorbeeld /tmp/labels"),
        ("usb", {"usb_vendor": 0x04B8, "usb_product": 0x0E28}, "USB-printer 04b8:0e28"),
        ("cups", {"queue": "balie"}, "CUPS-wachtrij balie"),
        ("cups", {}, "standaardprinter van CUPS"),
    ],
)
def test_every_connection_is_described_in_both_languages(
    kind: str, settings: dict[str, Any], dutch: str
) -> None:
    connection = make_connection(read_printer_settings({"connection": kind, **settings}))

    assert cli_printer.describe_connection(connection, Messages("nl")) == dutch
    # English says what the driver says.
    assert cli_printer.describe_connection(connection, Messages("en")) == connection.describe()


# -- counter printer status --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "exit_code", "dutch", "english"),
    [
        (
            "online",
            0,
            ["online: online", "klep: dicht", "papier: ok", "storing: nee", "gereed: ja"],
            ["online: online", "cover: closed", "paper: ok", "error: no", "ready: yes"],
        ),
        (
            "paper_near_end",
            0,
            ["online: online", "klep: dicht", "papier: bijna op", "storing: nee", "gereed: ja"],
            ["online: online", "cover: closed", "paper: near end", "error: no", "ready: yes"],
        ),
        (
            "paper_out",
            1,
            ["online: offline", "klep: dicht", "papier: op", "storing: nee", "gereed: nee"],
            ["online: offline", "cover: closed", "paper: out", "error: no", "ready: no"],
        ),
        (
            "cover_open",
            1,
            ["online: offline", "klep: open", "papier: ok", "storing: nee", "gereed: nee"],
            ["online: offline", "cover: open", "paper: ok", "error: no", "ready: no"],
        ),
        (
            "error",
            1,
            [
                "online: offline",
                "klep: dicht",
                "papier: ok",
                "storing: ja (snijmes vast of printkop oververhit)",
                "gereed: nee",
            ],
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
    dutch: list[str],
    english: list[str],
) -> None:
    fake.mode = mode

    code, out, err = run_handler(cli_printer.status, network_config(config_file, fake.port))
    assert (code, err) == (exit_code, "")
    assert out.splitlines() == [f"printer: netwerkprinter 127.0.0.1:{fake.port}", *dutch]

    config = network_config(config_file, fake.port, language="en")
    code, out, err = run_handler(cli_printer.status, config)
    assert (code, err) == (exit_code, "")
    assert out.splitlines() == [f"printer: network printer 127.0.0.1:{fake.port}", *english]
    assert fake.jobs == []  # asking prints nothing


def test_status_of_a_silent_printer_is_no_answer(
    config_file: ConfigFile, fake: FakeEscposPrinter
) -> None:
    fake.mode = "silent"

    code, out, _ = run_handler(cli_printer.status, network_config(config_file, fake.port))

    assert code == 1
    assert out.splitlines()[1] == (
        "status: geen antwoord: de printer nam de verbinding aan maar antwoordde niet op DLE EOT"
    )


def test_status_of_a_printer_that_is_off(config_file: ConfigFile, fake: FakeEscposPrinter) -> None:
    fake.refuse_connections()

    code, out, _ = run_handler(cli_printer.status, network_config(config_file, fake.port))

    assert code == 1
    assert out.splitlines()[1].startswith(
        f"status: niet bereikbaar: 127.0.0.1:{fake.port}: weigert de verbinding"
    )


def test_status_of_the_preview_connection_is_unknown(
    config_file: ConfigFile, tmp_path: Path
) -> None:
    code, out, err = run_handler(cli_printer.status, preview_config(config_file, tmp_path))

    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"printer: voorbeeld {tmp_path / 'labels'}",
        "status: onbekend: deze verbinding kan niets vragen "
        "(preview neemt opdrachten aan maar geeft geen antwoord)",
    ]
    assert not (tmp_path / "labels").exists()  # nothing was written


# -- counter printer queue ---------------------------------------------------------------


def test_queue_without_a_database(config_file: ConfigFile, tmp_path: Path) -> None:
    code, out, err = run_handler(cli_printer.queue, preview_config(config_file, tmp_path))

    assert (code, out) == (1, "")
    assert err == f"Er is geen database van de weegbalie op {tmp_path / 'counter.sqlite3'}.\n"
    assert not (tmp_path / "counter.sqlite3").exists()  # not created by looking


def test_queue_lists_the_waiting_jobs(config_file: ConfigFile, tmp_path: Path) -> None:
    config = preview_config(config_file, tmp_path)
    english = preview_config(config_file, tmp_path, language="en")
    engine = open_database(tmp_path / "counter.sqlite3")
    try:
        assert run_handler(cli_printer.queue, config) == (
            0,
            "geen afdrukopdrachten in de wachtrij\n",
            "",
        )
        assert run_handler(cli_printer.queue, english) == (0, "no print jobs waiting\n", "")
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
    # The last error is stored as the driver said it, in English.
    assert out.splitlines() == [
        "2 afdrukopdrachten wachten, oudste eerst:",
        "2024-05-03 12:15:00  MS01-000001  Etiket  mislukt  pogingen 1"
        "  laatste fout: the printer is out of paper",
        "2024-05-03 12:16:00  MS01-000002  Etiket  in wachtrij  pogingen 0",
    ]

    code, out, err = run_handler(cli_printer.queue, english)

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "2 print jobs waiting, oldest first:",
        "2024-05-03 12:15:00  MS01-000001  Label  failed  attempts 1"
        "  last error: the printer is out of paper",
        "2024-05-03 12:16:00  MS01-000002  Label  queued  attempts 0",
    ]


# -- through the command line ------------------------------------------------------------


def test_the_commands_are_registered(
    config_file: ConfigFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = preview_config(config_file, tmp_path)

    assert main(["--config", str(config), "printer", "status"]) == 1
    assert "status: onbekend" in capsys.readouterr().out
    assert main(["printer", "test", "--config", str(config)]) == 0
    assert "testpagina verstuurd naar voorbeeldbestand" in capsys.readouterr().out
    assert main(["--config", str(config), "printer"]) == 2
    assert "test" in capsys.readouterr().err


def test_a_wrong_printer_setting_is_named(
    config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file('[printer]\nconnection = "network"\n')

    assert main(["--config", str(config), "printer", "test"]) == 2
    # Found while loading the configuration, before a language is known: English.
    assert "[printer] host: a network printer needs host" in capsys.readouterr().err


# -- in English --------------------------------------------------------------------------


def test_test_page_in_english(config_file: ConfigFile, tmp_path: Path) -> None:
    code, out, err = run_handler(
        cli_printer.test, preview_config(config_file, tmp_path, language="en")
    )

    assert (code, err) == (0, "")
    (page,) = sorted((tmp_path / "labels").glob("*.escpos"))
    size = len(page.read_bytes())
    assert out == f"test page sent to preview file {page} ({size} bytes, profile TM-T88V)\n"


def test_test_page_not_sent_in_english(config_file: ConfigFile, fake: FakeEscposPrinter) -> None:
    fake.mode = "cover_open"
    config = network_config(config_file, fake.port, language="en")

    code, out, err = run_handler(cli_printer.test, config)

    assert (code, out) == (1, "")
    assert (
        err == "test page not printed: the printer is cover open (use --force to send it anyway)\n"
    )

    fake.refuse_connections()
    code, out, err = run_handler(cli_printer.test, config)

    assert (code, out) == (1, "")
    assert err.startswith(f"test page not printed: 127.0.0.1:{fake.port}: refuses the connection")


def test_status_that_says_nothing_in_english(
    config_file: ConfigFile, fake: FakeEscposPrinter, tmp_path: Path
) -> None:
    network = network_config(config_file, fake.port, language="en")
    fake.mode = "silent"
    code, out, _ = run_handler(cli_printer.status, network)
    assert code == 1
    assert out.splitlines() == [
        f"printer: network printer 127.0.0.1:{fake.port}",
        "status: no answer: the printer took the connection but did not reply to DLE EOT",
    ]

    fake.refuse_connections()
    code, out, _ = run_handler(cli_printer.status, network)
    assert code == 1
    assert out.splitlines()[1].startswith(
        f"status: not reachable: 127.0.0.1:{fake.port}: refuses the connection"
    )

    preview = preview_config(config_file, tmp_path, language="en")
    code, out, err = run_handler(cli_printer.status, preview)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"printer: preview {tmp_path / 'labels'}",
        "status: unknown: this connection cannot ask (preview takes jobs but gives no answers)",
    ]

    code, out, err = run_handler(cli_printer.queue, preview)
    assert (code, out) == (1, "")
    assert err == f"There is no counter database at {tmp_path / 'counter.sqlite3'}.\n"
