"""One check every protocol test uses: the bytes may arrive in any chunks."""

from __future__ import annotations

from collections.abc import Callable

from drivers.scale.protocol import ScaleProtocol
from drivers.scale.reading import Reading


def assert_same_in_any_chunking(
    make_parser: Callable[[], ScaleProtocol], data: bytes, *, expect_readings: bool = True
) -> list[Reading]:
    """Feeding ``data`` cut at every position, and byte by byte, gives exactly what
    feeding it whole gives (a serial port hands over whatever it has). Returns that."""
    whole = make_parser().feed(data)
    if expect_readings:
        assert whole, "the data gave no readings at all"
    for cut in range(len(data) + 1):
        parser = make_parser()
        assert parser.feed(data[:cut]) + parser.feed(data[cut:]) == whole, cut
    parser = make_parser()
    assert [r for byte in data for r in parser.feed(bytes((byte,)))] == whole
    return whole
