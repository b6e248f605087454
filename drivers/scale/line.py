"""The serial line to a scale indicator: speed, data bits, parity and stop bits.

One model for everyone who opens the line: the ``[scale]`` table of the counter's
configuration, the scale service and ``counter scale monitor``. A setting left out
(``None``) is the protocol's own default (its manual's), see
:attr:`drivers.scale.protocol.ScaleProtocol.serial_defaults`.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticKnownError

from drivers.scale.protocol import SerialDefaults


def _whole(value: object) -> object:
    # A choice of whole numbers: 9600.0 is no rate (a Literal matches it, as 9600.0 == 9600).
    if isinstance(value, float):
        raise PydanticKnownError("int_type")
    return value


# Rates that serial indicators, printers and USB-serial adapters actually offer.
StandardBaudrate = Literal[
    110, 300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115200, 230400
]
STANDARD_BAUDRATES: Final[tuple[int, ...]] = get_args(StandardBaudrate)
Baudrate = Annotated[StandardBaudrate, BeforeValidator(_whole)]
#: How a wrong rate is refused: the list, so the technician can compare with the menu.
BAUDRATE_EXPECTED: Final = f"a standard rate ({', '.join(str(r) for r in STANDARD_BAUDRATES)})"

Bytesize = Annotated[Literal[5, 6, 7, 8], BeforeValidator(_whole)]
# pyserial's parity letters: none, even, odd, mark, space; "e" is read as "E".
Parity = Annotated[
    Literal["N", "E", "O", "M", "S"],
    BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
]
STOPBITS: Final = (1, 1.5, 2)


def _stopbits(value: object) -> object:
    # A Literal of 1.5 is no type a checker takes, so the choice is made here.
    if isinstance(value, bool) or value not in STOPBITS:
        raise PydanticKnownError("literal_error", {"expected": "1, 1.5 or 2"})
    return value


Stopbits = Annotated[float, BeforeValidator(_stopbits)]


class LineSettings(BaseModel):
    """What the indicator's menu says about its line; ``None`` = the protocol's default."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    baudrate: Baudrate | None = Field(
        default=None, json_schema_extra={"expected": BAUDRATE_EXPECTED}
    )
    bytesize: Bytesize | None = Field(
        default=None, json_schema_extra={"expected": "5, 6, 7 or 8 data bits"}
    )
    parity: Parity | None = None
    stopbits: Stopbits | None = Field(default=None, json_schema_extra={"expected": "1, 1.5 or 2"})

    def over(self, defaults: SerialDefaults) -> SerialDefaults:
        """The line in effect: these settings where given, else ``defaults``."""
        return SerialDefaults(
            baudrate=defaults.baudrate if self.baudrate is None else self.baudrate,
            bytesize=defaults.bytesize if self.bytesize is None else self.bytesize,
            parity=(defaults.parity if self.parity is None else self.parity).upper(),
            stopbits=defaults.stopbits if self.stopbits is None else self.stopbits,
        )


__all__ = ["BAUDRATE_EXPECTED", "STANDARD_BAUDRATES", "Baudrate", "LineSettings"]
