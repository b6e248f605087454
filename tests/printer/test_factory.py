"""From configuration to connection: every kind gets the settings it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter_app.config import ConfigError, parse_config
from counter_app.services.printing import connection_for
from drivers.printer.factory import make_connection
from drivers.printer.settings import UsbPrinter


def test_usb_endpoints_from_the_config_reach_the_connection() -> None:
    config = parse_config(
        '[printer]\nconnection = "usb"\nusb_vendor = 0x0416\nusb_product = 0x5011\n'
        "usb_in_endpoint = 0x81\nusb_out_endpoint = 0x03\n"
    )
    connection = connection_for(config)
    assert connection.kind == "usb"
    assert (connection.vendor_id, connection.product_id) == (0x0416, 0x5011)  # type: ignore[attr-defined]
    assert (connection.in_ep, connection.out_ep) == (0x81, 0x03)  # type: ignore[attr-defined]


def test_usb_endpoints_default_to_automatic() -> None:
    connection = make_connection(UsbPrinter())
    assert (connection.in_ep, connection.out_ep) == (None, None)  # type: ignore[attr-defined]


def test_a_usb_endpoint_out_of_range_is_named_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[printer]\nconnection = "usb"\nusb_out_endpoint = 300\n')
    assert "usb_out_endpoint" in str(caught.value)
    assert ":3:" in str(caught.value) or caught.value.problems[0].line == 3


# -- [printer] path for the preview connection (DESIGN.md section 4) -------------------


def test_a_preview_path_naming_a_file_appends_every_job_to_it(tmp_path: Path) -> None:
    target = tmp_path / "x" / "label.escpos"
    config = parse_config(f'[printer]\nconnection = "preview"\npath = "{target}"\n')

    connection_for(config).send(b"first|")
    connection_for(config).send(b"second|")  # a new connection per job, as the service does

    assert target.is_file()
    assert target.read_bytes() == b"first|second|"


def test_a_preview_path_naming_a_folder_gets_a_file_per_job(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    config = parse_config(f'[printer]\nconnection = "preview"\npath = "{folder}"\n')

    connection_for(config).send(b"first")
    connection_for(config).send(b"second")

    jobs = sorted(folder.iterdir())
    assert [job.read_bytes() for job in jobs] == [b"first", b"second"]
    assert all(job.suffix == ".escpos" for job in jobs)


def test_an_empty_preview_path_is_the_labels_folder_in_the_data_directory(
    isolated_dirs: Path,
) -> None:
    config = parse_config('[printer]\nconnection = "preview"\npath = ""\n')

    connection_for(config).send(b"job")

    folder = isolated_dirs / "data" / "milieustraat-counter" / "labels"
    assert [job.read_bytes() for job in folder.iterdir()] == [b"job"]
