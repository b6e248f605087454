"""Serial port discovery for the technician (``counter scale ports``)."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports as _list_ports


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A serial port the system knows: its device name and what it says it is."""

    device: str
    description: str
    hwid: str


def list_ports() -> list[PortInfo]:
    """The serial ports present now, sorted by device name.

    USB adapters show their vendor and product in ``hwid`` (``USB VID:PID=0403:6001
    SER=...``), which tells two adapters apart when the device names change.
    """
    ports = [
        PortInfo(
            device=str(port.device),
            description=str(port.description or ""),
            hwid=str(port.hwid or ""),
        )
        for port in _list_ports.comports()
    ]
    return sorted(ports, key=lambda p: p.device)


__all__ = ["PortInfo", "list_ports"]
