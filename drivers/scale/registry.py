"""Protocol names (DESIGN.md section 4) and where their parser and emulator live.

Modules are imported on first use, so a broken or slow protocol module never
costs the others their start-up time.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from decimal import Decimal

from drivers.scale.protocol import IndicatorEmulator, ProtocolOptionError, ScaleProtocol

# name -> (module, parser class, emulator class)
_PROTOCOLS: dict[str, tuple[str, str, str]] = {
    "comma": ("drivers.scale.comma", "CommaProtocol", "CommaEmulator"),
    "mt-sics": ("drivers.scale.mt_sics", "MtSicsProtocol", "MtSicsEmulator"),
    "toledo": ("drivers.scale.toledo", "ToledoProtocol", "ToledoEmulator"),
    "sma": ("drivers.scale.sma", "SmaProtocol", "SmaEmulator"),
    "nci": ("drivers.scale.nci", "NciProtocol", "NciEmulator"),
    "xk3190": ("drivers.scale.xk3190", "Xk3190Protocol", "Xk3190Emulator"),
    "regex": ("drivers.scale.regex", "RegexProtocol", "RegexEmulator"),
}

PROTOCOL_NAMES: tuple[str, ...] = tuple(_PROTOCOLS)


class UnknownProtocolError(ValueError):
    pass


def _load(name: str, index: int) -> type:
    try:
        module_name, *classes = _PROTOCOLS[name]
    except KeyError:
        raise UnknownProtocolError(
            f"unknown scale protocol {name!r}; choose one of: {', '.join(PROTOCOL_NAMES)}"
        ) from None
    module = importlib.import_module(module_name)
    cls: type = getattr(module, classes[index])
    return cls


def protocol_class(name: str) -> type[ScaleProtocol]:
    cls = _load(name, 0)
    assert issubclass(cls, ScaleProtocol)
    return cls


def emulator_class(name: str) -> type[IndicatorEmulator]:
    cls = _load(name, 1)
    assert issubclass(cls, IndicatorEmulator)
    return cls


def make_protocol(
    name: str, options: Mapping[str, str] | None = None, *, capacity_kg: Decimal | None = None
) -> ScaleProtocol:
    """A parser for ``name``; ``capacity_kg`` (default 100000) bounds the weights it reads."""
    protocol = protocol_class(name)(options)
    if capacity_kg is not None:
        protocol.capacity_kg = capacity_kg
    return protocol


def make_emulator(name: str, options: Mapping[str, str] | None = None) -> IndicatorEmulator:
    return emulator_class(name)(options)


__all__ = [
    "PROTOCOL_NAMES",
    "ProtocolOptionError",
    "UnknownProtocolError",
    "emulator_class",
    "make_emulator",
    "make_protocol",
    "protocol_class",
]
