"""From the ``[printer]`` settings to a connection (a new one per job).

Each connection module is imported only when its kind is chosen, so an optional
dependency (pyusb, pycups) is needed only by the counters that use it.
"""

from __future__ import annotations

from pathlib import Path

from drivers.printer.connection import PrinterConnection
from drivers.printer.settings import (
    CupsPrinter,
    FilePrinter,
    NetworkPrinter,
    PreviewPrinter,
    PrinterSettings,
    SerialPrinter,
    UsbPrinter,
)


def make_connection(
    settings: PrinterSettings, *, preview_dir: Path | None = None
) -> PrinterConnection:
    """The connection ``settings`` describe.

    ``preview`` writes to ``preview_dir`` (or its ``path`` when no ``preview_dir`` is
    given): one file that collects every job, or a folder with a file per job (see
    :class:`~drivers.printer.preview.PreviewConnection` for which is which). The
    ``profile`` (a python-escpos profile) chooses the status request that confirms each
    job on connections that can answer (``GS r 1``, or ``DLE EOT 1`` for Star profiles;
    see :func:`delivery_check_for_profile`). The settings models refuse a missing host,
    path or port before this is reached.
    """
    from drivers.printer.status import delivery_check_for_profile

    check = delivery_check_for_profile(settings.profile)
    match settings:
        case PreviewPrinter(path=path):
            from drivers.printer.preview import PreviewConnection

            target = preview_dir if preview_dir is not None else Path(path) if path else None
            if target is None:
                raise ValueError(
                    "printer connection 'preview' needs a file or a folder for the label files"
                )
            return PreviewConnection(target)
        case FilePrinter(path=path):
            from drivers.printer.file import FileConnection

            return FileConnection(Path(path))
        case SerialPrinter(path=path, baudrate=baudrate, flow=flow):
            from drivers.printer.serial_printer import SerialConnection

            return SerialConnection(path, baudrate, flow=flow, delivery_check=check)
        case NetworkPrinter(host=host, port=port):
            from drivers.printer.network import NetworkConnection

            return NetworkConnection(host, port, delivery_check=check)
        case UsbPrinter():
            from drivers.printer.usb import UsbConnection

            # Endpoint 0 is the configuration's "find it from the descriptors".
            return UsbConnection(
                settings.usb_vendor,
                settings.usb_product,
                in_ep=settings.usb_in_endpoint or None,
                out_ep=settings.usb_out_endpoint or None,
                delivery_check=check,
            )
        case CupsPrinter(queue=queue):
            from drivers.printer.cups import CupsConnection

            return CupsConnection(queue)
