"""The counter's configuration: the TOML file of DESIGN.md section 4.

Every key is optional; without a file the counter runs in demo mode on the built-in
simulator. A file is read completely and checked completely before anything starts:
each wrong table, key or value becomes a :class:`ConfigProblem` with the key and the
line it is on, and :func:`load_config` raises one :class:`ConfigError` listing all of
them, so a technician fixes the file in one go.

Where the file is found: ``--config FILE``, else ``$COUNTER_CONFIG``, else
``config.toml`` in the platform's user config directory (platformdirs). A file named
explicitly must exist; a missing file in the default place means demo defaults.

Problems are written in English, like the drivers' messages: they are read by the
technician who installs the counter, before a language has been chosen.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal

import platformdirs

from counter_app.i18n import LANGUAGES
from drivers.scale.reading import DEFAULT_CAPACITY_KG, is_plausible_number

APP_NAME: Final = "milieustraat-counter"
CONFIG_ENV: Final = "COUNTER_CONFIG"
CONFIG_FILENAME: Final = "config.toml"
DATABASE_FILENAME: Final = "counter.sqlite3"
DEMO_DATABASE_FILENAME: Final = "counter-demo.sqlite3"

#: ``[scale] port`` value that runs the built-in simulator (demo mode).
SIMULATOR_PORT: Final = "sim"
PRINTER_CONNECTIONS: Final = ("preview", "file", "usb", "serial", "network", "cups")
FLOW_CONTROLS: Final = ("none", "xonxoff", "rtscts", "dsrdtr")
# pyserial's parity letters: none, even, odd, mark, space.
PARITIES: Final = ("N", "E", "O", "M", "S")
BYTESIZES: Final = (5, 6, 7, 8)
STOPBITS: Final = (1, 1.5, 2)
# Rates that serial indicators, printers and USB-serial adapters actually offer.
STANDARD_BAUDRATES: Final = (
    110, 300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115200, 230400,
)  # fmt: skip
# Label codes are "<station id>-<number>" in a QR code and on CODE128: keep the id to
# capitals and digits so every scanner keyboard layout reads it back the same.
STATION_ID_PATTERN: Final = re.compile(r"[A-Z][A-Z0-9]{1,7}")
# What a scale can weigh: from a kitchen scale's gram to ten of the largest weighbridges.
CAPACITY_RANGE_KG: Final = (Decimal("0.001"), Decimal(1_000_000))
# The finest division (in the indicator's unit) a stable_division can be.
MIN_DIVISION: Final = Decimal("0.000001")


# --------------------------------------------------------------------------------------
# The configuration values


@dataclass(frozen=True)
class StationConfig:
    id: str = "MS01"
    name: str = "Milieustraat Voorbeeld"
    #: Recorded with every drop-off and correction.
    operator: str = "balie"


@dataclass(frozen=True)
class ScaleConfig:
    #: ``"sim"`` (built-in simulator), a serial port (``/dev/ttyUSB0``, ``COM3``) or a
    #: pyserial URL (``socket://10.0.0.5:4001``, ``rfc2217://...``).
    port: str = SIMULATOR_PORT
    protocol: str = "comma"
    #: Line settings; ``None`` takes the protocol's own default (its manual's).
    baudrate: int | None = None
    bytesize: int | None = None
    parity: str | None = None
    stopbits: float | None = None
    #: Protocol options (``[scale.options]``), as ``counter scale decode --option``.
    options: dict[str, str] = field(default_factory=dict)
    #: How often a polled indicator is asked for a weight.
    poll_interval_ms: int = 200
    #: Without a frame for this long the scale counts as offline.
    offline_after_ms: int = 1500
    #: For indicators whose frames do not say "stable": the weight counts as stable
    #: when it stays within one division, in the indicator's unit (e.g. 0.02 kg).
    stable_division: Decimal = Decimal("0.02")
    #: ... for at least this many readings ...
    stable_count: int = 5
    #: ... spread over at least this long. Five readings in one second is what most
    #: indicators' own motion detection uses (e.g. Unipulse F159 manual, 5-4).
    stable_window_ms: int = 1000
    #: Offer zero (z) and tare (t) keys on the counter screen. Off by default: on most
    #: sites only the technician zeroes the indicator (F9 diagnostics).
    allow_zero_tare: bool = False
    #: The most the scale can weigh: a frame with a larger weight (either sign) is a
    #: bad frame, like a garbled one, never a weight that can be recorded.
    capacity_kg: Decimal = DEFAULT_CAPACITY_KG
    #: After a restart, a weight equal to the last record's (within one division)
    #: weighed within this many minutes of it is recorded only when the attendant
    #: confirms: it may be the load recorded just before a crash. 0 = never ask.
    same_load_minutes: int = 5


@dataclass(frozen=True)
class PrinterConfig:
    connection: str = "preview"
    #: A python-escpos capabilities profile: paper width, code pages, QR support.
    profile: str = "TM-T20II"
    #: preview: a file (every job appended) or a folder (one file per job; the
    #: default is labels/ in the data directory); file: output file or device
    #: (``/dev/usb/lp0``); serial: the port.
    path: str = ""
    host: str = ""
    port: int = 9100
    baudrate: int = 9600
    flow: str = "none"
    usb_vendor: int = 0x04B8
    usb_product: int = 0x0E28
    #: USB endpoints; 0 = found from the device's descriptors (most printers).
    usb_in_endpoint: int = 0
    usb_out_endpoint: int = 0
    #: CUPS queue name; empty is the system's default printer.
    queue: str = ""


@dataclass(frozen=True)
class DatabaseConfig:
    #: SQLite file; empty is ``counter.sqlite3`` in the platform data directory.
    path: str = ""


@dataclass(frozen=True)
class SyncConfig:
    #: SQLAlchemy URL of the central database; empty = no sync configured.
    url: str = ""


@dataclass(frozen=True)
class Config:
    language: str = "nl"
    station: StationConfig = field(default_factory=StationConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    #: The file this came from; ``None`` for demo defaults.
    source: Path | None = None

    @property
    def is_demo(self) -> bool:
        """True when the scale is the built-in simulator."""
        return self.scale.port == SIMULATOR_PORT

    def data_dir(self) -> Path:
        """The platform's user data directory for the counter (not created here)."""
        return Path(platformdirs.user_data_dir(APP_NAME))

    def database_path(self) -> Path:
        """The SQLite file: ``[database] path`` or the data directory's default.

        A relative path is taken relative to the configuration file's directory.
        """
        if self.database.path:
            return self._resolve(self.database.path)
        if self.is_demo:
            # Simulated kilograms must never reach the municipality's export: a
            # counter started once without its configuration writes elsewhere.
            return self.data_dir() / DEMO_DATABASE_FILENAME
        return self.data_dir() / DATABASE_FILENAME

    def preview_dir(self) -> Path:
        """Where the ``preview`` connection writes its labels: ``[printer] path`` (a file
        that collects every job, or a folder with a file per job; see
        ``drivers.printer.preview.PreviewConnection``), or the ``labels`` folder in the
        data directory when the path is empty."""
        if self.printer.path:
            return self._resolve(self.printer.path)
        return self.data_dir() / "labels"

    def _resolve(self, text: str) -> Path:
        path = Path(text).expanduser()
        if not path.is_absolute() and self.source is not None:
            return self.source.parent / path
        return path


# --------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the file. ``key`` is dotted (``"scale.baudrate"``); empty for
    a problem with the whole file; ``table`` is True when ``key`` names a table."""

    key: str
    line: int | None
    message: str
    table: bool = False

    def display_key(self) -> str:
        """``[scale] baudrate`` for a key in a table, ``[scale]`` for a table."""
        if not self.key:
            return ""
        if self.table:
            return f"[{self.key}]"
        head, dot, last = self.key.rpartition(".")
        return f"[{head}] {last}" if dot else last

    def format(self, source: Path | str | None) -> str:
        where = str(source) if source is not None else "config"
        if self.line is not None:
            where += f":{self.line}"
        key = self.display_key()
        return f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` lists every problem, one a line."""

    def __init__(self, problems: Iterable[ConfigProblem], source: Path | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(p.format(self.source) for p in self.problems)


# --------------------------------------------------------------------------------------
# Finding the file


ConfigOrigin = Literal["--config", "COUNTER_CONFIG", "default"]


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def config_path_candidate(explicit: str | Path | None = None) -> tuple[Path, ConfigOrigin]:
    """The file that would be read and why: ``--config``, ``$COUNTER_CONFIG`` or default."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser(), "--config"
    from_env = os.environ.get(CONFIG_ENV, "")
    if from_env:
        return Path(from_env).expanduser(), "COUNTER_CONFIG"
    return default_config_path(), "default"


def find_config_path(explicit: str | Path | None = None) -> Path | None:
    """The configuration file to read, or ``None`` for demo defaults.

    Raises :class:`ConfigError` when a file named by ``--config`` or
    ``$COUNTER_CONFIG`` does not exist or is not a file.
    """
    path, origin = config_path_candidate(explicit)
    if origin == "default":
        return path if path.is_file() else None
    named_by = "--config" if origin == "--config" else f"${CONFIG_ENV}"
    if not path.exists():
        raise ConfigError([ConfigProblem("", None, f"file not found (named by {named_by})")], path)
    if not path.is_file():
        raise ConfigError([ConfigProblem("", None, f"not a file (named by {named_by})")], path)
    return path


def load_config(explicit: str | Path | None = None) -> Config:
    """Find, read and check the configuration; demo defaults when there is none."""
    path = find_config_path(explicit)
    if path is None:
        return Config()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigProblem("", None, f"cannot read: {exc.strerror}")], path) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = ConfigProblem("", line, "not UTF-8 text; save the file as UTF-8")
        raise ConfigError([problem], path) from None
    return parse_config(text, source=path)


_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)\s*$")


#: Said of a file whose lists or tables are nested so deeply that reading it would
#: exhaust the interpreter's stack (``a = [[[[...]]]]`` a hundred thousand deep).
TOO_DEEP: Final = (
    "the file is nested too deeply (lists or tables inside each other); "
    "a counter configuration has at most two levels, e.g. [scale.options]"
)


def parse_config(text: str, source: Path | None = None) -> Config:
    """Check configuration ``text`` and build the :class:`Config`; raises ConfigError."""
    try:
        return _parse_config(text, source)
    except RecursionError:
        raise ConfigError([ConfigProblem("", None, TOO_DEEP)], source) from None


def _parse_config(text: str, source: Path | None) -> Config:
    text = text.removeprefix("\ufeff")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line: int | None = None
        if match:
            message = message[: match.start()]
            line = int(match.group(1)) if match.group(1) else max(1, len(text.splitlines()))
        problem = ConfigProblem("", line, f"not valid TOML: {message}")
        raise ConfigError([problem], source) from None
    checker = _Checker(_KeyLocator(text))
    config = checker.build(document, source)
    if checker.problems:
        in_file_order = sorted(checker.problems, key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(in_file_order, source)
    return config


# --------------------------------------------------------------------------------------
# Where a key is in the file (tomllib does not say)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _parse_key(line: str, pos: int) -> tuple[tuple[str, ...], int] | None:
    """Read a (dotted, possibly quoted) TOML key at ``pos``; return its parts and end."""
    parts: list[str] = []
    n = len(line)
    while True:
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos >= n:
            return None
        if line[pos] == '"':
            end = pos + 1
            while end < n and line[end] != '"':
                end += 2 if line[end] == "\\" else 1
            if end >= n:
                return None
            try:
                parts.append(tomllib.loads(f"k = {line[pos : end + 1]}")["k"])
            except tomllib.TOMLDecodeError:
                return None
            pos = end + 1
        elif line[pos] == "'":
            end = line.find("'", pos + 1)
            if end < 0:
                return None
            parts.append(line[pos + 1 : end])
            pos = end + 1
        else:
            match = _BARE_KEY.match(line, pos)
            if match is None:
                return None
            parts.append(match.group())
            pos = match.end()
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos < n and line[pos] == ".":
            pos += 1
            continue
        return tuple(parts), pos


class _KeyLocator:
    """Finds the line of a table header or a key by scanning the file's text.

    It knows ``[table]``, ``[[array]]``, dotted and quoted keys and skips the inside
    of multi-line strings. A key that is not written on a line of its own (inside an
    inline table, say) is found at the line of its nearest written parent.
    """

    def __init__(self, text: str) -> None:
        self._entries: list[tuple[int, tuple[str, ...]]] = []
        table: tuple[str, ...] = ()
        closing: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if closing is not None:
                if closing in line:
                    closing = None
                continue
            stripped = line.lstrip()
            if stripped.startswith("["):
                array = stripped.startswith("[[")
                parsed = _parse_key(stripped, 2 if array else 1)
                if parsed is not None and stripped[parsed[1] :].startswith("]"):
                    table = parsed[0]
                    self._entries.append((number, table))
                continue
            parsed = _parse_key(line, 0)
            if parsed is None or not line[parsed[1] :].startswith("="):
                continue
            self._entries.append((number, table + parsed[0]))
            value = line[parsed[1] + 1 :]
            for quotes in ('"""', "'''"):
                if value.count(quotes) % 2 == 1:
                    closing = quotes
                    break

    def line_of(self, path: tuple[str, ...]) -> int | None:
        """The line where ``path`` is written, else where its nearest parent is."""
        best: tuple[int, int] | None = None  # (length of matched prefix, line)
        for number, written in self._entries:
            if written == path:
                return number
            if (
                len(written) < len(path)
                and path[: len(written)] == written
                and (best is None or len(written) > best[0])
            ):
                best = (len(written), number)
        return None if best is None else best[1]


# --------------------------------------------------------------------------------------
# Checking values


class _Invalid(Exception):
    """A value is wrong; the message says what was expected."""


def _show(value: object) -> str:
    """A value as it looks in the TOML file."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _suggest(word: str, choices: Iterable[str], fmt: str = '"{}"') -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        folded = {c.casefold(): c for c in choices}
        if word.casefold() in folded:
            close = [folded[word.casefold()]]
    return f"; did you mean {fmt.format(close[0])}?" if close else ""


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected text in quotes, got {_show(value)}")
    return value


def _nonempty_text(value: object) -> str:
    text = _text(value)
    if not text.strip():
        raise _Invalid("must not be empty")
    return text


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        hint = ""
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?(0x[0-9a-fA-F_]+|\d[\d_]*)\s*", value):
            hint = f" (write it without quotes: {value.strip()})"
        raise _Invalid(f"expected a whole number, got {_show(value)}{hint}")
    return value


def _in_range(low: int, high: int, unit: str = "") -> Callable[[object], int]:
    def check(value: object) -> int:
        number = _whole(value)
        if not low <= number <= high:
            raise _Invalid(f"expected {low} to {high}{unit}, got {number}")
        return number

    return check


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_show(value)}")
    return value


def _one_of(choices: Iterable[str], fold: Callable[[str], str] = str) -> Callable[[object], str]:
    options = tuple(choices)

    def check(value: object) -> str:
        text = fold(_text(value))
        if text not in options:
            listed = ", ".join(f'"{c}"' for c in options)
            raise _Invalid(f"expected one of {listed}, got {_show(value)}{_suggest(text, options)}")
        return text

    return check


def _baudrate(value: object) -> int:
    rate = _whole(value)
    if rate <= 0 or rate not in STANDARD_BAUDRATES:
        listed = ", ".join(str(r) for r in STANDARD_BAUDRATES)
        raise _Invalid(f"expected a standard rate ({listed}), got {rate}")
    return rate


def _bytesize(value: object) -> int:
    size = _whole(value)
    if size not in BYTESIZES:
        raise _Invalid(f"expected 5, 6, 7 or 8 data bits, got {size}")
    return size


def _stopbits(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"expected 1, 1.5 or 2, got {_show(value)}")
    if value not in STOPBITS:
        raise _Invalid(f"expected 1, 1.5 or 2, got {_show(value)}")
    return float(value)


def _decimal(value: object, what: str, example: str) -> Decimal:
    """A weight written in quotes (or as a whole number): never read through a float."""
    if isinstance(value, float):
        raise _Invalid(f'write the {what} in quotes, e.g. "{example}"; got {_show(value)}')
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Invalid(f'expected a weight in quotes, e.g. "{example}"; got {_show(value)}')
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise _Invalid(f'expected a weight such as "{example}", got {_show(value)}') from None


def _division(value: object) -> Decimal:
    division = _decimal(value, "division", "0.02")
    if division.is_finite() and division <= 0:
        raise _Invalid(f"expected a weight above zero, got {_show(value)}")
    # Bounded here, and by the capacity in the cross-checks: a number such as
    # "1E+999999999" is no division of any indicator.
    if not (
        division.is_finite()
        and MIN_DIVISION <= division <= CAPACITY_RANGE_KG[1]
        and is_plausible_number(division)
    ):
        raise _Invalid(
            f"expected a division from {MIN_DIVISION} up to the capacity (capacity_kg), "
            f'e.g. "0.02"; got {_show(value)}'
        )
    return division


def _capacity(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise _Invalid(f'expected a weight in kg in quotes, e.g. "60000"; got {_show(value)}')
    try:
        capacity = _decimal(value, "capacity", "60000")
    except _Invalid as exc:
        raise _Invalid(str(exc).replace("a weight such as", "a weight in kg such as")) from None
    low, high = CAPACITY_RANGE_KG
    if not (capacity.is_finite() and low <= capacity <= high and is_plausible_number(capacity)):
        raise _Invalid(
            f"expected a capacity from {low} to {high} kg (what the scale can weigh at "
            f'most, e.g. "60000"), got {_show(value)}'
        )
    return capacity


def parse_capacity(text: str) -> Decimal:
    """A capacity in kg given on the command line; ``ValueError`` says what is wrong."""
    try:
        return _capacity(text)
    except _Invalid as exc:
        raise ValueError(str(exc)) from None


def _station_id(value: object) -> str:
    text = _text(value)
    if not STATION_ID_PATTERN.fullmatch(text):
        raise _Invalid(
            "expected 2 to 8 capital letters and digits, starting with a letter (e.g. "
            f'"MS01"); it begins every label code; got {_show(value)}'
        )
    return text


def _printer_profile(value: object) -> str:
    name = _text(value)
    from escpos.capabilities import CAPABILITIES

    profiles: list[str] = sorted(CAPABILITIES["profiles"])
    if name not in profiles:
        raise _Invalid(
            f"no python-escpos printer profile {_show(value)}{_suggest(name, profiles)} "
            f"(profiles: {', '.join(profiles)})"
        )
    return name


def _usb_id(value: object) -> int:
    number = _whole(value)
    if not 0 <= number <= 0xFFFF:
        raise _Invalid(f"expected a USB id from 0x0000 to 0xffff, got {number:#x}")
    return number


def _usb_endpoint(value: object) -> int:
    number = _whole(value)
    if not 0 <= number <= 0xFF:
        raise _Invalid(f"expected a USB endpoint from 0x00 to 0xff (0 = automatic), got {number}")
    return number


_DATABASE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S*")
# scheme://user:password@host...: the password runs to the last "@", so a password
# with "@", ":" or "/" in it is hidden whole (at worst a little more is hidden).
_URL_PASSWORD = re.compile(r"(?P<head>[^:/@]+://[^:@/?#]*):(?P<password>.*)@(?P<host>[^@]*)")


def hide_password(url: str) -> str:
    """``url`` with its password as ``***``: ``postgresql+psycopg://user:***@host/db``."""
    match = _URL_PASSWORD.fullmatch(url)
    if match is None:
        return url
    return f"{match['head']}:***@{match['host']}"


def _sync_url(value: object) -> str:
    url = _text(value)
    if url and not _DATABASE_URL.fullmatch(url):
        raise _Invalid(
            "expected a database URL such as postgresql+psycopg://user@host/db, "
            f"got {_show(hide_password(url))}"
        )
    return url


def _protocol(value: object) -> str:
    from drivers.scale.registry import PROTOCOL_NAMES

    return _one_of(PROTOCOL_NAMES)(value)


_Check = Callable[[object], Any]

# table ("" = top level) -> key -> check. [scale.options] is checked on its own.
_SCHEMA: Final[dict[str, dict[str, _Check]]] = {
    "": {"language": _one_of(LANGUAGES, str.lower)},
    "station": {"id": _station_id, "name": _nonempty_text, "operator": _nonempty_text},
    "scale": {
        "port": _nonempty_text,
        "protocol": _protocol,
        "baudrate": _baudrate,
        "bytesize": _bytesize,
        "parity": _one_of(PARITIES, str.upper),
        "stopbits": _stopbits,
        "poll_interval_ms": _in_range(20, 60_000, " ms"),
        "offline_after_ms": _in_range(100, 600_000, " ms"),
        "stable_division": _division,
        "stable_count": _in_range(2, 100, ""),
        "stable_window_ms": _in_range(0, 60_000, " ms"),
        "allow_zero_tare": _flag,
        "capacity_kg": _capacity,
        "same_load_minutes": _in_range(0, 1440, " minutes"),
    },
    "printer": {
        "connection": _one_of(PRINTER_CONNECTIONS),
        "profile": _printer_profile,
        "path": _text,
        "host": _text,
        "port": _in_range(1, 65535),
        "baudrate": _baudrate,
        "flow": _one_of(FLOW_CONTROLS),
        "usb_vendor": _usb_id,
        "usb_product": _usb_id,
        "usb_in_endpoint": _usb_endpoint,
        "usb_out_endpoint": _usb_endpoint,
        "queue": _text,
    },
    "database": {"path": _text},
    "sync": {"url": _sync_url},
}
_SUBTABLES: Final[dict[str, tuple[str, ...]]] = {"scale": ("options",)}
_TABLE_CLASSES: Final[dict[str, type]] = {
    "station": StationConfig,
    "scale": ScaleConfig,
    "printer": PrinterConfig,
    "database": DatabaseConfig,
    "sync": SyncConfig,
}


class _Checker:
    def __init__(self, locator: _KeyLocator) -> None:
        self._locator = locator
        self.problems: list[ConfigProblem] = []

    def problem(self, path: tuple[str, ...], message: str, *, table: bool = False) -> None:
        self.problems.append(
            ConfigProblem(".".join(path), self._locator.line_of(path), message, table)
        )

    def build(self, document: Mapping[str, Any], source: Path | None) -> Config:
        top: dict[str, Any] = {}
        tables: dict[str, dict[str, Any]] = {name: {} for name in _TABLE_CLASSES}
        for key, value in document.items():
            if key in _SCHEMA[""]:
                self._check((key,), value, _SCHEMA[""][key], top)
            elif key in _TABLE_CLASSES:
                if not isinstance(value, dict):
                    self.problem((key,), f"expected a table [{key}], got {_show(value)}")
                    continue
                self._table(key, value, tables[key])
            else:
                self._unknown_top(key, value)
        # Values that passed stand in the config; wrong ones keep their defaults, so
        # the checks between keys still run and every problem is reported at once.
        config = Config(
            **top,
            **{name: cls(**tables[name]) for name, cls in _TABLE_CLASSES.items()},
            source=source,
        )
        self._cross_check(config, document)
        return config

    def _failed(self, *paths: tuple[str, ...]) -> bool:
        """True when a problem was found at or under any of ``paths``."""
        keys = {".".join(p) for p in paths}
        return any(
            p.key in keys or any(p.key.startswith(k + ".") for k in keys) for p in self.problems
        )

    def _check(
        self, path: tuple[str, ...], value: object, check: _Check, out: dict[str, Any]
    ) -> None:
        try:
            out[path[-1]] = check(value)
        except _Invalid as exc:
            self.problem(path, str(exc))

    def _table(self, name: str, table: Mapping[str, Any], out: dict[str, Any]) -> None:
        schema = _SCHEMA[name]
        subtables = _SUBTABLES.get(name, ())
        for key, value in table.items():
            if key in schema:
                self._check((name, key), value, schema[key], out)
            elif key == "options" and "options" in subtables:
                out["options"] = self._options((name, key), value)
            else:
                is_table = isinstance(value, dict)
                known = [*schema, *subtables]
                hint = _suggest(key, known, f"[{name}.{{}}]" if is_table else '"{}"')
                what = "table" if is_table else "key"
                self.problem((name, key), f"unknown {what}{hint}", table=is_table)

    def _options(self, path: tuple[str, ...], value: object) -> dict[str, str]:
        if not isinstance(value, dict):
            self.problem(path, f"expected a table [scale.options], got {_show(value)}")
            return {}
        options: dict[str, str] = {}
        for key, option in value.items():
            if isinstance(option, str):
                options[key] = option
            elif isinstance(option, int) and not isinstance(option, bool):
                options[key] = str(option)
            else:
                self.problem((*path, key), f"expected text in quotes, got {_show(option)}")
        return options

    def _unknown_top(self, key: str, value: object) -> None:
        if isinstance(value, dict):
            hint = _suggest(key, _TABLE_CLASSES, "[{}]")
            self.problem((key,), f"unknown table{hint}", table=True)
            return
        hint = _suggest(key, [*_SCHEMA[""], *_TABLE_CLASSES])
        if not hint:
            homes = [f"[{t}]" for t, keys in _SCHEMA.items() if t and key in keys]
            if homes:
                hint = f"; this key belongs in a table: {' or '.join(homes)}"
        self.problem((key,), f"unknown key{hint}")

    def _cross_check(self, config: Config, document: Mapping[str, Any]) -> None:
        printer = config.printer
        if not self._failed(("printer", "connection"), ("printer", "host"), ("printer", "path")):
            if printer.connection == "network" and not printer.host.strip():
                self.problem(
                    ("printer", "host"), "a network printer needs host = its name or address"
                )
            if printer.connection == "file" and not printer.path.strip():
                self.problem(("printer", "path"), 'a file printer needs path, e.g. "/dev/usb/lp0"')
            if printer.connection == "serial" and not printer.path.strip():
                self.problem(
                    ("printer", "path"),
                    'a serial printer needs its port in path, e.g. "/dev/ttyS0"',
                )
        scale = config.scale
        if (
            not self._failed(("scale", "offline_after_ms"), ("scale", "poll_interval_ms"))
            and scale.offline_after_ms <= scale.poll_interval_ms
        ):
            self.problem(
                ("scale", "offline_after_ms"),
                f"must be longer than poll_interval_ms ({scale.poll_interval_ms} ms)",
            )
        if (
            not self._failed(("scale", "stable_division"), ("scale", "capacity_kg"))
            and scale.stable_division > scale.capacity_kg
        ):
            self.problem(
                ("scale", "stable_division"),
                f"a division must be no larger than the capacity (capacity_kg = "
                f"{scale.capacity_kg}), got {_toml_value(scale.stable_division)}",
            )
        if not self._failed(("scale", "protocol"), ("scale", "options")):
            self._check_protocol_options(scale, document)

    def _check_protocol_options(self, scale: ScaleConfig, document: Mapping[str, Any]) -> None:
        """Let the protocol itself judge its options, so a wrong one stops the start."""
        from drivers.scale.registry import protocol_class

        try:
            cls = protocol_class(scale.protocol)
        except ModuleNotFoundError as exc:
            # A protocol module that is not there cannot judge; the scale service
            # reports it when it starts.
            if exc.name is not None and exc.name.startswith("drivers.scale."):
                return
            raise
        try:
            cls(scale.options)
        except (ValueError, re.error) as exc:
            scale_table = document.get("scale", {})
            written = isinstance(scale_table, dict) and "options" in scale_table
            self.problem(("scale", "options") if written else ("scale", "protocol"), str(exc))


# --------------------------------------------------------------------------------------
# Writing the effective configuration (``counter config show``)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


_HEX_KEYS: Final = {
    ("printer", "usb_vendor"),
    ("printer", "usb_product"),
    ("printer", "usb_in_endpoint"),
    ("printer", "usb_out_endpoint"),
}


def config_to_toml(config: Config) -> str:
    """The effective configuration, defaults included, as TOML that loads back equal.

    Except for a password in ``[sync] url``: it is shown as ``***``, so the output can
    go into a support ticket.
    """
    if config.source is None:
        header = "# No configuration file: demo defaults."
    else:
        header = f"# Effective configuration from {config.source}"
    lines = [header, "", f"language = {_toml_value(config.language)}"]
    for name in _TABLE_CLASSES:
        section = getattr(config, name)
        lines += ["", f"[{name}]"]
        subtables: list[tuple[str, Mapping[str, str]]] = []
        for f in fields(section):
            value = getattr(section, f.name)
            if f.name in _SUBTABLES.get(name, ()):
                subtables.append((f.name, value))
            elif value is None:
                lines.append(f"# {f.name}: not set; the protocol's default applies")
            elif (name, f.name) == ("sync", "url"):
                lines.append(f"{f.name} = {_toml_value(hide_password(value))}")
            elif (name, f.name) in _HEX_KEYS:
                digits = 2 if f.name.endswith("endpoint") else 4
                lines.append(f"{f.name} = 0x{value:0{digits}x}")
            else:
                lines.append(f"{f.name} = {_toml_value(value)}")
        for sub, table in subtables:
            lines += ["", f"[{name}.{sub}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


__all__ = [
    "APP_NAME",
    "CONFIG_ENV",
    "PRINTER_CONNECTIONS",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "DatabaseConfig",
    "PrinterConfig",
    "ScaleConfig",
    "StationConfig",
    "SyncConfig",
    "config_path_candidate",
    "config_to_toml",
    "default_config_path",
    "find_config_path",
    "hide_password",
    "load_config",
    "parse_capacity",
    "parse_config",
]
