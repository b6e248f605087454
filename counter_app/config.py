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

import ast
import difflib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_origin

import platformdirs
from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError, PydanticKnownError

# Where the file is and what is wrong with it live apart, without pydantic, so the
# command line finds the file (and its language) without loading the models.
from counter_app.config_file import (
    APP_NAME,
    CONFIG_ENV,
    ConfigError,
    ConfigProblem,
    config_path_candidate,
    default_config_path,
    find_config_path,
)
from drivers.printer.settings import (
    PRINTER_CONNECTIONS,
    PRINTER_KEYS,
    PRINTER_MODELS,
    PreviewPrinter,
    PrinterSettings,
)
from drivers.scale.line import LineSettings
from drivers.scale.reading import DEFAULT_CAPACITY_KG, is_plausible_number

DATABASE_FILENAME: Final = "counter.sqlite3"
DEMO_DATABASE_FILENAME: Final = "counter-demo.sqlite3"

#: ``[scale] port`` value that runs the built-in simulator (demo mode).
SIMULATOR_PORT: Final = "sim"
# Label codes are "<station id>-<number>" in a QR code and on CODE128: keep the id to
# capitals and digits so every scanner keyboard layout reads it back the same.
STATION_ID_PATTERN: Final = r"^[A-Z][A-Z0-9]{1,7}$"
# What a scale can weigh: from a kitchen scale's gram to ten of the largest weighbridges.
CAPACITY_RANGE_KG: Final = (Decimal("0.001"), Decimal(1_000_000))
# The finest division (in the indicator's unit) a stable_division can be.
MIN_DIVISION: Final = Decimal("0.000001")


# --------------------------------------------------------------------------------------
# The configuration values
#
# Ranges and choices are said by the types; a validator only where a type cannot say
# it. ``json_schema_extra`` holds how a refused value is explained to the technician
# (see _message): "expected" (what is expected, in words), "said" (the whole sentence),
# "unit" (of a range).


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _refuse(message: str) -> PydanticCustomError:
    """A value refused in ``message`` (written as it is, braces and all)."""
    return PydanticCustomError("config_value", message.replace("{", "{{").replace("}", "}}"))


def _not_blank(text: str) -> str:
    if not text.strip():
        raise _refuse("must not be empty")
    return text


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _weight_text(what: str, example: str) -> Callable[[object], Decimal]:
    """A weight written in quotes (or as a whole number): never read through a float."""

    def read(value: object) -> Decimal:
        if isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise _refuse(f'write the {what} in quotes, e.g. "{example}"; got {_show(value)}')
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _refuse(f'expected a weight in quotes, e.g. "{example}"; got {_show(value)}')
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise _refuse(f'expected a weight such as "{example}", got {_show(value)}') from None

    return read


def _division(value: object) -> Decimal:
    division = _weight_text("division", "0.02")(value)
    if division.is_finite() and division <= 0:
        raise _refuse(f"expected a weight above zero, got {_show(value)}")
    # Bounded here, and by the capacity in ScaleConfig: a number such as
    # "1E+999999999" is no division of any indicator.
    if not (
        division.is_finite()
        and MIN_DIVISION <= division <= CAPACITY_RANGE_KG[1]
        and is_plausible_number(division)
    ):
        raise _refuse(
            f"expected a division from {MIN_DIVISION} up to the capacity (capacity_kg), "
            f'e.g. "0.02"; got {_show(value)}'
        )
    return division


def _capacity(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | float | Decimal):
        raise _refuse(f'expected a weight in kg in quotes, e.g. "60000"; got {_show(value)}')
    try:
        capacity = _weight_text("capacity", "60000")(value)
    except PydanticCustomError as exc:
        raise _refuse(exc.message().replace("a weight such as", "a weight in kg such as")) from None
    low, high = CAPACITY_RANGE_KG
    if not (capacity.is_finite() and low <= capacity <= high and is_plausible_number(capacity)):
        raise _refuse(
            f"expected a capacity from {low} to {high} kg (what the scale can weigh at "
            f'most, e.g. "60000"), got {_show(value)}'
        )
    return capacity


def parse_capacity(text: str) -> Decimal:
    """A capacity in kg given on the command line; ``ValueError`` says what is wrong."""
    try:
        return _capacity(text)
    except PydanticCustomError as exc:
        raise ValueError(exc.message()) from None


def _known_protocol(name: str) -> str:
    from drivers.scale.registry import PROTOCOL_NAMES

    if name not in PROTOCOL_NAMES:
        expected = ", ".join(repr(n) for n in PROTOCOL_NAMES)
        raise PydanticKnownError("literal_error", {"expected": expected})
    return name


def _option_text(value: object) -> object:
    # Protocol options are text; a whole number (decimals = 2) is taken as written.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _check_protocol_options(protocol: str, options: Mapping[str, str]) -> None:
    """Let the protocol itself judge its options, so a wrong one stops the start."""
    from drivers.scale.registry import protocol_class

    try:
        cls = protocol_class(protocol)
    except ModuleNotFoundError as exc:
        # A protocol module that is not there cannot judge; the scale service
        # reports it when it starts.
        if exc.name is not None and exc.name.startswith("drivers.scale."):
            return
        raise
    try:
        cls(options)
    except (ValueError, re.error) as exc:
        raise PydanticCustomError("protocol_options", str(exc).replace("{", "{{")) from None


NonEmptyText = Annotated[str, AfterValidator(_not_blank)]
Language = Annotated[Literal["nl", "en"], BeforeValidator(_lower)]
Milliseconds = Annotated[int, Field(json_schema_extra={"unit": " ms"})]


class StationConfig(_Table):
    #: The prefix of every label code: capitals and digits, so every scanner keyboard
    #: layout reads the QR code and CODE128 back the same.
    id: str = Field(
        default="MS01",
        pattern=STATION_ID_PATTERN,
        json_schema_extra={
            "said": "expected 2 to 8 capital letters and digits, starting with a letter "
            '(e.g. "MS01"); it begins every label code; got {shown}'
        },
    )
    name: NonEmptyText = "Milieustraat Voorbeeld"
    #: Recorded with every drop-off and correction.
    operator: NonEmptyText = "balie"


class ScaleConfig(LineSettings):
    """The ``[scale]`` table: the line settings (``None`` = the protocol's own) and how
    the counter reads the indicator."""

    #: ``"sim"`` (built-in simulator), a serial port (``/dev/ttyUSB0``, ``COM3``) or a
    #: pyserial URL (``socket://10.0.0.5:4001``, ``rfc2217://...``).
    port: NonEmptyText = SIMULATOR_PORT
    protocol: Annotated[str, AfterValidator(_known_protocol)] = "comma"
    #: Protocol options (``[scale.options]``), as ``counter scale decode --option``.
    options: dict[str, Annotated[str, BeforeValidator(_option_text)]] = Field(
        default_factory=dict, validate_default=True
    )
    #: How often a polled indicator is asked for a weight.
    poll_interval_ms: Milliseconds = Field(default=200, ge=20, le=60_000)
    #: Without a frame for this long the scale counts as offline.
    offline_after_ms: Milliseconds = Field(default=1500, ge=100, le=600_000)
    #: The most the scale can weigh: a frame with a larger weight (either sign) is a
    #: bad frame, like a garbled one, never a weight that can be recorded.
    capacity_kg: Annotated[Decimal, BeforeValidator(_capacity)] = DEFAULT_CAPACITY_KG
    #: For indicators whose frames do not say "stable": the weight counts as stable
    #: when it stays within one division, in the indicator's unit (e.g. 0.02 kg).
    stable_division: Annotated[Decimal, BeforeValidator(_division)] = Decimal("0.02")
    #: ... for at least this many readings ...
    stable_count: int = Field(default=5, ge=2, le=100)
    #: ... spread over at least this long. Five readings in one second is what most
    #: indicators' own motion detection uses (e.g. Unipulse F159 manual, 5-4).
    stable_window_ms: Milliseconds = Field(default=1000, ge=0, le=60_000)
    #: Offer zero (z) and tare (t) keys on the counter screen. Off by default: on most
    #: sites only the technician zeroes the indicator (F9 diagnostics).
    allow_zero_tare: bool = False
    #: After a restart, a weight equal to the last record's (within one division)
    #: weighed within this many minutes of it is recorded only when the attendant
    #: confirms: it may be the load recorded just before a crash. 0 = never ask.
    same_load_minutes: int = Field(default=5, ge=0, le=1440, json_schema_extra={"unit": " minutes"})

    # The checks between keys run when the keys they compare are right (``info.data``
    # holds only those), so every other problem is still reported with them.

    @field_validator("options")
    @classmethod
    def _options_suit_the_protocol(cls, options: dict[str, str], info: ValidationInfo) -> Any:
        if "protocol" in info.data:
            _check_protocol_options(info.data["protocol"], options)
        return options

    @field_validator("offline_after_ms")
    @classmethod
    def _offline_after_a_poll(cls, offline_after_ms: int, info: ValidationInfo) -> int:
        poll = info.data.get("poll_interval_ms")
        if poll is not None and offline_after_ms <= poll:
            raise _refuse(f"must be longer than poll_interval_ms ({poll} ms)")
        return offline_after_ms

    @field_validator("stable_division")
    @classmethod
    def _division_within_capacity(cls, division: Decimal, info: ValidationInfo) -> Decimal:
        capacity = info.data.get("capacity_kg")
        if capacity is not None and division > capacity:
            raise _refuse(
                f"a division must be no larger than the capacity (capacity_kg = "
                f"{capacity}), got {_toml_value(division)}"
            )
        return division


class CounterConfig(_Table):
    """The ``[counter]`` table: how the attendant's screen records, and what the
    attendant may do there."""

    #: Enter pressed while the load still moves waits this long for a stable, positive
    #: weight and records it by itself; after that the capture is dropped.
    settle_seconds: int = Field(default=15, ge=1, le=600, json_schema_extra={"unit": " s"})
    #: Allow ``m``: a weight typed in by hand (with a reason) when the scale is down.
    #: Off by default: a typed weight is not a weighing. Demo mode (no file) allows it.
    manual_weight: bool = False
    #: Offer Delete (void) and c (correct) on a row of today's list. Until operators
    #: exist the site decides this for everyone at the counter; ``counter void`` and
    #: ``counter correct`` on the command line can always.
    allow_corrections: bool = True


class DatabaseConfig(_Table):
    #: SQLite file; empty is ``counter.sqlite3`` in the platform data directory.
    path: str = ""


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


def _database_url(url: str) -> str:
    # Checked here, not by a pattern: the refusal must not show the password.
    if url and not _DATABASE_URL.fullmatch(url):
        raise _refuse(
            "expected a database URL such as postgresql+psycopg://user@host/db, "
            f"got {_show(hide_password(url))}"
        )
    return url


class SyncConfig(_Table):
    #: SQLAlchemy URL of the central database; empty = no sync configured.
    url: Annotated[str, AfterValidator(_database_url)] = ""


class Config(_Table):
    language: Language = "nl"
    station: StationConfig = StationConfig()
    counter: CounterConfig = CounterConfig()
    scale: ScaleConfig = ScaleConfig()
    printer: PrinterSettings = PreviewPrinter()
    database: DatabaseConfig = DatabaseConfig()
    sync: SyncConfig = SyncConfig()
    #: The file this came from; ``None`` for demo defaults. Not a key of the file.
    source: Path | None = None

    @property
    def is_demo(self) -> bool:
        """True when the scale is the built-in simulator."""
        return self.scale.port == SIMULATOR_PORT

    @property
    def manual_weight_allowed(self) -> bool:
        """Whether ``m`` may record a typed weight: ``[counter] manual_weight``, or demo
        defaults (no file), where nothing recorded counts."""
        return self.counter.manual_weight or self.source is None

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
        """Where the ``preview`` connection writes its labels: its ``path`` (a file that
        collects every job, or a folder with a file per job; see
        ``drivers.printer.preview.PreviewConnection``), or the ``labels`` folder in the
        data directory when the path is empty."""
        if isinstance(self.printer, PreviewPrinter) and self.printer.path:
            return self._resolve(self.printer.path)
        return self.data_dir() / "labels"

    def _resolve(self, text: str) -> Path:
        path = Path(text).expanduser()
        if not path.is_absolute() and self.source is not None:
            return self.source.parent / path
        return path


#: The tables of the file, in the order ``config show`` writes them.
_TABLES: Final = ("station", "counter", "scale", "printer", "database", "sync")


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
    locator = _KeyLocator(text)
    problems: list[ConfigProblem] = []
    if "source" in document:
        # Config.source says where the file is; the file cannot say it.
        written = document.pop("source")
        table = isinstance(written, dict)
        message = ("unknown table" if table else "unknown key") + _unknown_hint(("source",), table)
        problems.append(ConfigProblem("source", locator.line_of(("source",)), message, table))
    try:
        config = Config.model_validate(document)
    except ValidationError as exc:
        problems += _problems(exc.errors(include_url=False), locator)
    if problems:
        in_file_order = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(in_file_order, source)
    return config.model_copy(update={"source": source})


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

    def written(self, path: tuple[str, ...]) -> int | None:
        """The line where ``path`` itself is written; ``None`` when it is not."""
        return next((number for number, key in self._entries if key == path), None)

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
# Saying what is wrong: pydantic's errors in the technician's words, at their lines


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


def _problems(errors: Iterable[ErrorDetails], locator: _KeyLocator) -> list[ConfigProblem]:
    problems = []
    for error in errors:
        path = tuple(str(part) for part in error["loc"])
        if error["type"] == "protocol_options" and locator.written(path) is None:
            # Options left out are the protocol's to miss: the protocol is the key.
            path = ("scale", "protocol")
        if error["type"] == "extra_forbidden":
            table = isinstance(error["input"], dict)
            message = ("unknown table" if table else "unknown key") + _unknown_hint(path, table)
        else:
            table = False
            message = _message(error, path)
        problems.append(ConfigProblem(".".join(path), locator.line_of(path), message, table))
    return problems


def _keys_of(table: tuple[str, ...]) -> list[str]:
    """The keys a table of the file can have."""
    if table == ("printer",):
        return list(PRINTER_KEYS)
    field = _field_at(table) if table else None
    model = Config if not table else _model_of(field) if field is not None else None
    if model is None:
        return []
    return [name for name in model.model_fields if not (model is Config and name == "source")]


def _unknown_hint(path: tuple[str, ...], table: bool) -> str:
    *parent, key = path
    known = _keys_of(tuple(parent))
    if parent:
        subtables = [k for k in known if _is_table((*parent, k))]
        fmt = f"[{'.'.join(parent)}.{{}}]" if table else '"{}"'
        return _suggest(key, subtables if table else known, fmt)
    tables = [k for k in known if _is_table((k,))]
    if table:
        return _suggest(key, tables, "[{}]")
    hint = _suggest(key, known)
    if not hint:
        homes = [f"[{t}]" for t in tables if key in _keys_of((t,))]
        if homes:
            hint = f"; this key belongs in a table: {' or '.join(homes)}"
    return hint


def _is_table(path: tuple[str, ...]) -> bool:
    field = _field_at(path)
    if field is None:
        return False
    return (
        path == ("printer",) or _model_of(field) is not None or get_origin(field.annotation) is dict
    )


def _field_at(path: tuple[str, ...]) -> FieldInfo | None:
    """The model field that holds the value at ``path`` (a ``[printer]`` key: of a
    connection that has it; a key of ``[scale.options]``: the options); ``None`` for
    a key no model has."""
    if len(path) == 2 and path[0] == "printer":
        owners = PRINTER_KEYS.get(path[1], ())
        return PRINTER_MODELS[owners[0]].model_fields[path[1]] if owners else None
    model: type[BaseModel] | None = Config
    field = None
    for name in path:
        if model is None:
            return field  # inside a table of free keys
        field = model.model_fields.get(name)
        if field is None:
            return None
        model = _model_of(field)
    return field


def _model_of(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _choices(error: ErrorDetails) -> list[object]:
    """The choices a ``literal_error`` lists (``'nl' or 'en'``, ``5, 6, 7 or 8``)."""
    expected = str(error.get("ctx", {}).get("expected", ""))
    return [ast.literal_eval(part) for part in re.split(r", | or ", expected) if part]


def _whole_number(value: object) -> str:
    hint = ""
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?(0x[0-9a-fA-F_]+|\d[\d_]*)\s*", value):
        hint = f" (write it without quotes: {value.strip()})"
    return f"expected a whole number, got {_show(value)}{hint}"


def _message(error: ErrorDetails, path: tuple[str, ...]) -> str:
    kind, value = error["type"], error["input"]
    field = _field_at(path)
    extra = field.json_schema_extra if field is not None else None
    words: dict[str, Any] = extra if isinstance(extra, dict) else {}
    if kind in ("model_type", "dict_type", "model_attributes_type", "union_tag_not_found"):
        return f"expected a table [{'.'.join(path)}], got {_show(value)}"
    if kind == "string_type":
        return f"expected text in quotes, got {_show(value)}"
    if kind == "bool_type":
        return f"expected true or false, got {_show(value)}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return _whole_number(value)
    if kind == "literal_error":
        choices = _choices(error)
        if all(isinstance(c, str) for c in choices) and not isinstance(value, str):
            return f"expected text in quotes, got {_show(value)}"
        if all(type(c) is int for c in choices) and type(value) is not int:
            return _whole_number(value)
        if "expected" in words:
            return f"expected {words['expected']}, got {_show(value)}"
        listed = ", ".join(f'"{c}"' for c in choices)
        names = [str(c) for c in choices]
        return f"expected one of {listed}, got {_show(value)}{_suggest(str(value), names)}"
    if kind in ("greater_than_equal", "less_than_equal", "string_pattern_mismatch"):
        if "said" in words:
            return str(words["said"]).format(input=value, shown=_show(value))
        low = next(m.ge for m in field.metadata if isinstance(m, Ge)) if field else None
        high = next(m.le for m in field.metadata if isinstance(m, Le)) if field else None
        return f"expected {low} to {high}{words.get('unit', '')}, got {value}"
    return error["msg"]


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


_LEADING_KEYS: Final = {"scale": ("port", "protocol"), "printer": ("connection",)}
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
    for name in _TABLES:
        section: BaseModel = getattr(config, name)
        lines += ["", f"[{name}]"]
        subtables: list[tuple[str, Mapping[str, str]]] = []
        # The keys that say what the others mean come first.
        leading = _LEADING_KEYS.get(name, ())
        keys = sorted(
            type(section).model_fields,
            key=lambda key: leading.index(key) if key in leading else len(leading),
        )
        for key in keys:
            value = getattr(section, key)
            if isinstance(value, dict):
                subtables.append((key, value))
            elif value is None:
                lines.append(f"# {key}: not set; the protocol's default applies")
            elif (name, key) == ("sync", "url"):
                lines.append(f"{key} = {_toml_value(hide_password(value))}")
            elif (name, key) in _HEX_KEYS:
                digits = 2 if key.endswith("endpoint") else 4
                lines.append(f"{key} = 0x{value:0{digits}x}")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
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
    "CounterConfig",
    "DatabaseConfig",
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
