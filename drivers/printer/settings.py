"""The ``[printer]`` settings: one model per connection, told apart by ``connection``.

Each connection has only its own keys, so a network printer has no ``path`` and a
USB printer no ``host``. The counter's configuration, the connection factory and the
print service all use these models; reading the table (:data:`PrinterSettings`) is
the one place that knows which key belongs to which connection.

Sites write every key in one ``[printer]`` table and switch ``connection`` back and
forth, so a key of another connection is accepted there, checked as its own
connection would check it, and then left out: it does not take effect.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from drivers.scale.line import BAUDRATE_EXPECTED, Baudrate


def _known_profile(name: str) -> str:
    from escpos.capabilities import CAPABILITIES

    profiles: list[str] = sorted(CAPABILITIES["profiles"])
    if name not in profiles:
        close = difflib.get_close_matches(name, profiles, n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise PydanticCustomError(
            "printer_profile",
            "no python-escpos printer profile {name}{hint} (profiles: {profiles})",
            {"name": f'"{name}"', "hint": hint, "profiles": ", ".join(profiles)},
        )
    return name


def _needed(message: str) -> AfterValidator:
    """A text the connection cannot do without: empty or blank is refused in ``message``."""

    def check(text: str) -> str:
        if not text.strip():
            raise PydanticCustomError("needed", message)
        return text

    return AfterValidator(check)


#: How a serial printer says "wait": none, software (XON/XOFF) or a hardware line.
FlowControl = Literal["none", "xonxoff", "rtscts", "dsrdtr"]

UsbId = Annotated[
    int,
    Field(
        ge=0,
        le=0xFFFF,
        json_schema_extra={"said": "expected a USB id from 0x0000 to 0xffff, got {input:#x}"},
    ),
]
# 0 = found from the device's descriptors (most printers).
UsbEndpoint = Annotated[
    int,
    Field(
        ge=0,
        le=0xFF,
        json_schema_extra={
            "said": "expected a USB endpoint from 0x00 to 0xff (0 = automatic), got {input}"
        },
    ),
]


class _Printer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: A python-escpos capabilities profile: paper width, code pages, QR support.
    profile: Annotated[str, AfterValidator(_known_profile)] = "TM-T20II"


class PreviewPrinter(_Printer):
    """The label on screen, its bytes in a file: ``path`` is a file that collects every
    job or a folder with a file per job; empty is the counter's own folder."""

    connection: Literal["preview"] = "preview"
    path: str = ""


class FilePrinter(_Printer):
    """Bytes written to a file or a device such as ``/dev/usb/lp0``."""

    connection: Literal["file"] = "file"
    path: Annotated[str, _needed('a file printer needs path, e.g. "/dev/usb/lp0"')] = Field(
        default="", validate_default=True
    )


class SerialPrinter(_Printer):
    """A printer on a serial port (``path``), with its line speed and flow control."""

    connection: Literal["serial"] = "serial"
    path: Annotated[str, _needed('a serial printer needs its port in path, e.g. "/dev/ttyS0"')] = (
        Field(default="", validate_default=True)
    )
    baudrate: Baudrate = Field(default=9600, json_schema_extra={"expected": BAUDRATE_EXPECTED})
    flow: FlowControl = "none"


class NetworkPrinter(_Printer):
    """A printer on raw TCP (port 9100, "JetDirect")."""

    connection: Literal["network"] = "network"
    host: Annotated[str, _needed("a network printer needs host = its name or address")] = Field(
        default="", validate_default=True
    )
    port: int = Field(default=9100, ge=1, le=65535)


class UsbPrinter(_Printer):
    """A printer on USB through libusb."""

    connection: Literal["usb"] = "usb"
    usb_vendor: UsbId = 0x04B8
    usb_product: UsbId = 0x0E28
    usb_in_endpoint: UsbEndpoint = 0
    usb_out_endpoint: UsbEndpoint = 0


class CupsPrinter(_Printer):
    """A raw CUPS queue; empty is the system's default printer."""

    connection: Literal["cups"] = "cups"
    queue: str = ""


_CONNECTIONS: Final[tuple[type[_Printer], ...]] = (
    PreviewPrinter,
    FilePrinter,
    UsbPrinter,
    SerialPrinter,
    NetworkPrinter,
    CupsPrinter,
)
#: ``connection`` -> its model.
PRINTER_MODELS: Final[dict[str, type[_Printer]]] = {
    cls.model_fields["connection"].default: cls for cls in _CONNECTIONS
}
PRINTER_CONNECTIONS: Final[tuple[str, ...]] = tuple(PRINTER_MODELS)
#: Every key of the ``[printer]`` table -> the connections that have it.
PRINTER_KEYS: Final[dict[str, tuple[str, ...]]] = {
    key: tuple(kind for kind, cls in PRINTER_MODELS.items() if key in cls.model_fields)
    for cls in _CONNECTIONS
    for key in cls.model_fields
}
_KNOWN_ERRORS: Final = frozenset(get_args(ErrorType))


def _read_table(data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One ``[printer]`` table: its connection's model, after checking other connections'
    keys as those connections would; every problem is raised at once, by key."""
    if isinstance(data, _Printer) or not isinstance(data, Mapping):
        return handler(data)
    table = dict(data)
    table.setdefault("connection", "preview")
    connection = table["connection"]
    kind = connection if isinstance(connection, str) and connection in PRINTER_MODELS else None
    errors: list[InitErrorDetails] = []
    if kind is None:
        expected = ", ".join(repr(name) for name in PRINTER_CONNECTIONS)
        errors.append(
            InitErrorDetails(
                type="literal_error",
                loc=("connection",),
                input=connection,
                ctx={"expected": expected},
            )
        )
    own: dict[str, Any] = {}
    for key, value in table.items():
        if kind is not None and (kind in PRINTER_KEYS.get(key, ()) or key not in PRINTER_KEYS):
            own[key] = value  # unknown keys, too: the model refuses them by name
        elif key != "connection":
            errors += _checked_alone(key, value)
    result = None
    if kind is not None:
        try:
            result = handler(own)
        except ValidationError as exc:
            # The union puts the connection in the location; the file has no such level.
            errors += _moved(exc, (), drop=1)
    if errors:
        raise ValidationError.from_exception_data("printer", errors)
    return result


def _checked_alone(key: str, value: object) -> list[InitErrorDetails]:
    """Problems of ``key = value`` as a connection that has the key sees them; that
    the connection would need more (a host, a path) does not matter here."""
    # A key no connection has is refused by any of them as unknown.
    owner = PRINTER_MODELS[PRINTER_KEYS.get(key, PRINTER_CONNECTIONS)[0]]
    try:
        owner.model_validate({key: value})
    except ValidationError as exc:
        return [e for e in _moved(exc, ()) if e["loc"][:1] == (key,) and _type(e) != "needed"]
    return []


def _type(error: InitErrorDetails) -> str:
    kind = error["type"]
    return kind if isinstance(kind, str) else kind.type


def _moved(
    exc: ValidationError, prefix: tuple[str | int, ...], drop: int = 0
) -> list[InitErrorDetails]:
    """``exc``'s errors again, at ``prefix`` + their location less ``drop`` levels."""
    moved: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False):
        kind = error["type"]
        details = InitErrorDetails(
            type=kind
            if kind in _KNOWN_ERRORS
            else PydanticCustomError(kind, error["msg"].replace("{", "{{").replace("}", "}}")),
            loc=(*prefix, *error["loc"][drop:]),
            input=error["input"],
        )
        if "ctx" in error:
            details["ctx"] = error["ctx"]
        moved.append(details)
    return moved


#: The ``[printer]`` table read as the model of its ``connection``.
PrinterSettings = Annotated[
    PreviewPrinter | FilePrinter | UsbPrinter | SerialPrinter | NetworkPrinter | CupsPrinter,
    Field(discriminator="connection"),
    WrapValidator(_read_table),
]

_TABLE: Final = TypeAdapter(PrinterSettings)


def read_printer_settings(table: Mapping[str, object]) -> PrinterSettings:
    """The settings of a ``[printer]`` table; ``ValidationError`` names each wrong key."""
    settings: PrinterSettings = _TABLE.validate_python(table)
    return settings


__all__ = [
    "PRINTER_CONNECTIONS",
    "PRINTER_KEYS",
    "CupsPrinter",
    "FilePrinter",
    "FlowControl",
    "NetworkPrinter",
    "PreviewPrinter",
    "PrinterSettings",
    "SerialPrinter",
    "UsbPrinter",
    "read_printer_settings",
]
