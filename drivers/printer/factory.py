"""From the ``[printer]`` configuration to a connection (a new one per job).

Each connection module is imported only when its kind is chosen, so an optional
dependency (pyusb, pycups) is needed only by the counters that use it.
"""

from __future__ import annotations

from pathlib import Path

from drivers.printer.connection import PrinterConnection

CONNECTION_KINDS: tuple[str, ...] = ("preview", "file", "usb", "serial", "network", "cups")


def make_connection(
    kind: str,
    *,
    path: str = "",
    host: str = "",
    port: int = 9100,
    baudrate: int = 9600,
    usb_vendor: int = 0x04B8,
    usb_product: int = 0x0E28,
    usb_in_endpoint: int | None = None,
    usb_out_endpoint: int | None = None,
    queue: str = "",
    flow: str = "none",
    preview_dir: Path | None = None,
    profile: str = "",
) -> PrinterConnection:
    """The connection ``kind`` with the settings it uses; the others are ignored.

    ``preview`` writes to ``preview_dir`` (or ``path`` when no ``preview_dir`` is
    given): one file that collects every job, or a folder with a file per job (see
    :class:`~drivers.printer.preview.PreviewConnection` for which is which); ``file``
    to ``path``; ``serial`` opens the port ``path``. A missing or wrong setting raises
    :class:`ValueError` naming it. ``profile`` (a python-escpos profile) chooses the
    status request that confirms each job on connections that can answer (``GS r 1``,
    or ``DLE EOT 1`` for Star profiles; see :func:`delivery_check_for_profile`).
    """
    from drivers.printer.status import delivery_check_for_profile

    check = delivery_check_for_profile(profile)
    if kind == "preview":
        from drivers.printer.preview import PreviewConnection

        target = preview_dir if preview_dir is not None else Path(path) if path else None
        if target is None:
            raise ValueError(
                "printer connection 'preview' needs a file or a folder for the label files"
            )
        return PreviewConnection(target)
    if kind == "file":
        from drivers.printer.file import FileConnection

        if not path:
            raise ValueError(
                "printer connection 'file' needs a path (a file, or a device such as /dev/usb/lp0)"
            )
        return FileConnection(Path(path))
    if kind == "serial":
        from drivers.printer.serial_printer import SerialConnection

        if not path:
            raise ValueError("printer connection 'serial' needs the port as path (/dev/ttyUSB0)")
        return SerialConnection(path, baudrate, flow=flow, delivery_check=check)
    if kind == "network":
        from drivers.printer.network import NetworkConnection

        if not host:
            raise ValueError("printer connection 'network' needs a host (name or IP address)")
        return NetworkConnection(host, port, delivery_check=check)
    if kind == "usb":
        from drivers.printer.usb import UsbConnection

        return UsbConnection(
            usb_vendor,
            usb_product,
            in_ep=usb_in_endpoint,
            out_ep=usb_out_endpoint,
            delivery_check=check,
        )
    if kind == "cups":
        from drivers.printer.cups import CupsConnection

        return CupsConnection(queue)
    raise ValueError(
        f"unknown printer connection {kind!r}; choose one of: {', '.join(CONNECTION_KINDS)}"
    )
