"""The configuration contract of DESIGN.md section 4: finding, checking, reporting."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from counter_app.config import (
    Config,
    ConfigError,
    ConfigProblem,
    DatabaseConfig,
    ScaleConfig,
    StationConfig,
    SyncConfig,
    config_path_candidate,
    config_to_toml,
    default_config_path,
    find_config_path,
    load_config,
    parse_config,
)
from drivers.printer.settings import (
    CupsPrinter,
    FilePrinter,
    NetworkPrinter,
    PreviewPrinter,
    PrinterSettings,
    SerialPrinter,
    UsbPrinter,
)

ConfigFile = Callable[..., Path]  # the config_file fixture of conftest.py


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def only_problem(text: str) -> ConfigProblem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


# -- no file: demo defaults ---------------------------------------------------------


def test_no_file_gives_demo_defaults(isolated_dirs: Path) -> None:
    config = load_config()

    assert config == Config()
    assert config.source is None
    assert config.is_demo
    assert config.language == "nl"
    assert config.station == StationConfig(
        id="MS01", name="Milieustraat Voorbeeld", operator="balie"
    )
    assert config.scale.port == "sim" and config.scale.protocol == "comma"
    assert config.scale.baudrate is None  # the protocol's own default applies
    assert config.scale.stable_division == Decimal("0.02")
    assert config.printer.connection == "preview" and config.printer.profile == "TM-T20II"
    assert config.printer == PreviewPrinter()
    assert (UsbPrinter().usb_vendor, UsbPrinter().usb_product) == (0x04B8, 0x0E28)


def test_default_paths_are_in_the_platform_data_directory(isolated_dirs: Path) -> None:
    config = load_config()
    data_dir = isolated_dirs / "data" / "milieustraat-counter"

    assert config.data_dir() == data_dir
    assert config.database_path() == data_dir / "counter-demo.sqlite3"  # demo defaults
    assert config.preview_dir() == data_dir / "labels"
    assert default_config_path() == isolated_dirs / "config" / "milieustraat-counter" / (
        "config.toml"
    )


def test_empty_file_is_all_defaults(config_file: ConfigFile) -> None:
    path = config_file("")
    assert load_config(path) == Config(source=path)
    assert load_config(path).source == path


def test_not_demo_with_a_real_port(config_file: ConfigFile) -> None:
    config = load_config(config_file('[scale]\nport = "/dev/ttyUSB0"\n'))
    assert not config.is_demo


def test_relative_paths_are_relative_to_the_config_file(config_file: ConfigFile) -> None:
    path = config_file(
        """
        [database]
        path = "data/counter.sqlite3"
        [printer]
        path = "labels"
        """,
        name="site/config.toml",
    )
    config = load_config(path)
    assert config.database_path() == path.parent / "data" / "counter.sqlite3"
    assert config.preview_dir() == path.parent / "labels"


def test_absolute_database_path_is_kept(config_file: ConfigFile, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "db.sqlite3"
    config = load_config(config_file(f'[database]\npath = "{target}"\n'))
    assert config.database_path() == target


# -- which file ---------------------------------------------------------------------


def test_default_location_is_used_when_it_exists(isolated_dirs: Path) -> None:
    path = isolated_dirs / "config" / "milieustraat-counter" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[station]\nid = "MS07"\n', encoding="utf-8")

    assert find_config_path(None) == path
    assert load_config().station.id == "MS07"
    assert config_path_candidate(None) == (path, "default")


def test_environment_beats_default_and_option_beats_environment(
    config_file: ConfigFile, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = isolated_dirs / "config" / "milieustraat-counter" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text('[station]\nid = "MS01"\n', encoding="utf-8")
    from_env = config_file('[station]\nid = "MS02"\n', name="env.toml")
    from_option = config_file('[station]\nid = "MS03"\n', name="option.toml")

    monkeypatch.setenv("COUNTER_CONFIG", str(from_env))
    assert load_config().station.id == "MS02"
    assert config_path_candidate(None) == (from_env, "COUNTER_CONFIG")
    assert load_config(str(from_option)).station.id == "MS03"
    assert config_path_candidate(str(from_option)) == (from_option, "--config")
    assert load_config(from_option).source == from_option


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(str(missing))
    assert str(info.value) == f"{missing}: file not found (named by --config)"


def test_missing_file_from_environment_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("COUNTER_CONFIG", str(missing))
    with pytest.raises(ConfigError, match=r"file not found \(named by \$COUNTER_CONFIG\)"):
        load_config()


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a file"):
        load_config(tmp_path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'language = "nl"\n[station]\nname = "Caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [ConfigProblem("", 3, "not UTF-8 text; save the file as UTF-8")]


# -- every key ----------------------------------------------------------------------

FULL = """
language = "en"

[station]
id = "MS12"
name = "Milieustraat Oost"
operator = "Anna"

[scale]
port = "socket://10.0.0.5:4001"
protocol = "toledo"
baudrate = 4800
bytesize = 7
parity = "E"
stopbits = 1.5
poll_interval_ms = 100
offline_after_ms = 3000
stable_division = "0.5"
allow_zero_tare = true

[scale.options]
checksum = "yes"

[printer]
connection = "network"
profile = "TM-T88V"
path = "/dev/usb/lp1"
host = "printer.local"
port = 9101
baudrate = 19200
flow = "rtscts"
usb_vendor = 0x0416
usb_product = 0x5011
queue = "labels"

[database]
path = "/var/lib/counter/counter.sqlite3"

[sync]
url = "postgresql+psycopg://counter@central/milieustraat"
"""

FULL_CONFIG = Config(
    language="en",
    station=StationConfig(id="MS12", name="Milieustraat Oost", operator="Anna"),
    scale=ScaleConfig(
        port="socket://10.0.0.5:4001",
        protocol="toledo",
        baudrate=4800,
        bytesize=7,
        parity="E",
        stopbits=1.5,
        options={"checksum": "yes"},
        poll_interval_ms=100,
        offline_after_ms=3000,
        stable_division=Decimal("0.5"),
        allow_zero_tare=True,
    ),
    # The keys of the other connections are checked, and take no effect: see
    # test_every_printer_key_is_read.
    printer=NetworkPrinter(profile="TM-T88V", host="printer.local", port=9101),
    database=DatabaseConfig(path="/var/lib/counter/counter.sqlite3"),
    sync=SyncConfig(url="postgresql+psycopg://counter@central/milieustraat"),
)


@pytest.fixture
def no_protocol_option_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The option names belong to the protocols; here only the file format is tested."""
    from counter_app import config as config_module

    monkeypatch.setattr(config_module, "_check_protocol_options", lambda *a: None)


def test_every_key_is_read(config_file: ConfigFile, no_protocol_option_check: None) -> None:
    path = config_file(FULL)
    assert load_config(path) == FULL_CONFIG.model_copy(update={"source": path})


def test_every_key_survives_show_and_load_again(no_protocol_option_check: None) -> None:
    text = config_to_toml(FULL_CONFIG)
    assert parse_config(text) == FULL_CONFIG
    assert 'stable_division = "0.5"' in text
    assert "stopbits = 1.5" in text


PRINTER_TABLE = """
[printer]
connection = "{connection}"
profile = "TM-T88V"
path = "/dev/usb/lp1"
host = "printer.local"
port = 9101
baudrate = 19200
flow = "rtscts"
usb_vendor = 0x0416
usb_product = 0x5011
usb_in_endpoint = 0x81
usb_out_endpoint = 0x03
queue = "labels"
"""

EVERY_CONNECTION = [
    PreviewPrinter(profile="TM-T88V", path="/dev/usb/lp1"),
    FilePrinter(profile="TM-T88V", path="/dev/usb/lp1"),
    SerialPrinter(profile="TM-T88V", path="/dev/usb/lp1", baudrate=19200, flow="rtscts"),
    NetworkPrinter(profile="TM-T88V", host="printer.local", port=9101),
    UsbPrinter(
        profile="TM-T88V",
        usb_vendor=0x0416,
        usb_product=0x5011,
        usb_in_endpoint=0x81,
        usb_out_endpoint=0x03,
    ),
    CupsPrinter(profile="TM-T88V", queue="labels"),
]


@pytest.mark.parametrize("printer", EVERY_CONNECTION, ids=lambda p: p.connection)
def test_every_printer_key_is_read_by_its_connection(printer: PrinterSettings) -> None:
    """One [printer] table holds every connection's keys; each connection takes its own."""
    config = parse_config(PRINTER_TABLE.format(connection=printer.connection))
    assert config.printer == printer


@pytest.mark.parametrize("printer", EVERY_CONNECTION, ids=lambda p: p.connection)
def test_every_connection_survives_show_and_load_again(printer: PrinterSettings) -> None:
    config = Config(printer=printer)
    text = config_to_toml(config)
    assert parse_config(text) == config
    shown = tomllib.loads(text)["printer"]
    assert next(iter(shown)) == "connection"
    # Only the keys that take effect are shown.
    assert set(shown) == set(type(printer).model_fields)


def test_usb_ids_are_shown_in_hex() -> None:
    text = config_to_toml(Config(printer=UsbPrinter(usb_vendor=0x0416, usb_in_endpoint=0x81)))
    assert "usb_vendor = 0x0416" in text
    assert "usb_in_endpoint = 0x81" in text


def test_the_union_is_told_apart_by_connection() -> None:
    assert isinstance(parse_config("").printer, PreviewPrinter)
    assert isinstance(parse_config('[printer]\nconnection = "cups"\n').printer, CupsPrinter)
    assert not hasattr(parse_config('[printer]\nconnection = "usb"\n').printer, "host")


@pytest.mark.parametrize(
    ("text", "key", "line", "message"),
    [
        (
            '[printer]\nconnection = "network"\nhost = "h"\nusb_vendor = 0x10000\n',
            "printer.usb_vendor",
            4,
            "expected a USB id from 0x0000 to 0xffff, got 0x10000",
        ),
        (
            '[printer]\nconnection = "usb"\nport = "9100"\n',
            "printer.port",
            3,
            'expected a whole number, got "9100" (write it without quotes: 9100)',
        ),
        (
            '[printer]\nconnection = "cups"\nbaudrate = 9601\n',
            "printer.baudrate",
            3,
            "expected a standard rate (110, 300,",
        ),
        (
            '[printer]\nconnection = "usb"\nflow = "hardware"\n',
            "printer.flow",
            3,
            'expected one of "none", "xonxoff", "rtscts", "dsrdtr", got "hardware"',
        ),
    ],
)
def test_a_key_of_another_connection_is_still_checked(
    text: str, key: str, line: int, message: str
) -> None:
    problem = only_problem(text)
    assert (problem.key, problem.line) == (key, line)
    assert problem.message.startswith(message)


def test_a_key_of_another_connection_needs_nothing_of_it() -> None:
    """An empty host or path is a problem for the connection that needs it only."""
    config = parse_config('[printer]\nconnection = "usb"\nhost = ""\npath = ""\nport = 9100\n')
    assert config.printer == UsbPrinter()


def test_a_wrong_connection_still_has_the_other_keys_checked() -> None:
    problems = problems_of('[printer]\nconnection = "usbb"\nport = 0\ncolour = 1\n')
    assert [(p.key, p.line) for p in problems] == [
        ("printer.connection", 2),
        ("printer.port", 3),
        ("printer.colour", 4),
    ]
    assert problems[0].message.endswith('got "usbb"; did you mean "usb"?')


def test_source_is_no_key_of_the_file() -> None:
    problem = only_problem('source = "/etc/passwd"\n')
    assert (problem.key, problem.line, problem.message) == ("source", 1, "unknown key")


def test_the_languages_are_the_ones_with_messages() -> None:
    from counter_app.i18n import LANGUAGES

    for language in LANGUAGES:
        assert parse_config(f'language = "{language.upper()}"\n').language == language


def test_defaults_survive_show_and_load_again() -> None:
    text = config_to_toml(Config())
    assert text.startswith("# No configuration file: demo defaults.")
    assert "# baudrate: not set; the protocol's default applies" in text
    assert parse_config(text) == Config()


def test_show_quotes_awkward_text(no_protocol_option_check: None) -> None:
    config = Config(
        station=StationConfig(name='Straat "Oost" \\ café\tnoord'),
        scale=ScaleConfig(options={"odd key": "a\nb"}),
    )
    text = config_to_toml(config)
    assert parse_config(text, source=None).station == config.station
    assert '"odd key" = "a\\nb"' in text


def test_integer_stopbits_and_lower_case_parity_are_accepted() -> None:
    config = parse_config('[scale]\nstopbits = 2\nparity = "o"\n')
    assert config.scale.stopbits == 2
    assert config.scale.parity == "O"


def test_options_accept_whole_numbers_as_text(no_protocol_option_check: None) -> None:
    config = parse_config('[scale]\nprotocol = "regex"\n[scale.options]\ndecimals = 2\n')
    assert config.scale.options == {"decimals": "2"}


# -- problems and where they are ----------------------------------------------------


def test_problem_report_names_file_line_table_and_key(config_file: ConfigFile) -> None:
    path = config_file(
        """
        language = "nl"

        [station]
        id = "MS01"

        [scale]
        baudrate = "fast"
        """
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f'{path}:7: [scale] baudrate: expected a whole number, got "fast"'
    assert info.value.problems == [
        ConfigProblem("scale.baudrate", 7, 'expected a whole number, got "fast"')
    ]


def test_unknown_key_is_named_with_its_line_and_a_suggestion() -> None:
    problem = only_problem('[scale]\nport = "sim"\n\nbaudrat = 9600\n')
    assert problem.key == "scale.baudrat"
    assert problem.line == 4
    assert problem.message == 'unknown key; did you mean "baudrate"?'


def test_unknown_table_is_named_with_its_line_and_a_suggestion() -> None:
    problem = only_problem('language = "en"\n[printr]\nconnection = "usb"\n')
    assert (problem.key, problem.line, problem.table) == ("printr", 2, True)
    assert problem.format("c.toml") == "c.toml:2: [printr]: unknown table; did you mean [printer]?"


def test_unknown_top_level_key_and_unknown_sub_table() -> None:
    problems = problems_of('langage = "en"\n[scale.option]\nx = "1"\n')
    assert [(p.display_key(), p.line, p.message) for p in problems] == [
        ("langage", 1, 'unknown key; did you mean "language"?'),
        ("[scale.option]", 2, "unknown table; did you mean [scale.options]?"),
    ]


def test_key_outside_its_table_says_where_it_belongs() -> None:
    problem = only_problem("port = 9100\n")
    assert problem.message == "unknown key; this key belongs in a table: [scale] or [printer]"


def test_key_without_close_match_gets_no_suggestion() -> None:
    assert only_problem("[sync]\nflavour = 1\n").message == "unknown key"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("language = 1", "language", "expected text in quotes, got 1"),
        ("[station]\nid = 1", "station.id", "expected text in quotes, got 1"),
        ("[scale]\nbaudrate = 9600.0", "scale.baudrate", "expected a whole number, got 9600.0"),
        ("[scale]\nbaudrate = true", "scale.baudrate", "expected a whole number, got true"),
        (
            '[scale]\nbaudrate = "9600"',
            "scale.baudrate",
            'expected a whole number, got "9600" (write it without quotes: 9600)',
        ),
        (
            '[scale]\nallow_zero_tare = "yes"',
            "scale.allow_zero_tare",
            'expected true or false, got "yes"',
        ),
        ("[scale]\nallow_zero_tare = 1", "scale.allow_zero_tare", "expected true or false, got 1"),
        ('[scale]\nstopbits = "1"', "scale.stopbits", 'expected 1, 1.5 or 2, got "1"'),
        (
            "[scale]\nstable_division = 0.02",
            "scale.stable_division",
            'write the division in quotes, e.g. "0.02"; got 0.02',
        ),
        ("[scale]\noptions = 3", "scale.options", "expected a table [scale.options], got 3"),
        ("[scale.options]\nx = 1.5", "scale.options.x", "expected text in quotes, got 1.5"),
        ("[printer]\nport = [9100]", "printer.port", "expected a whole number, got a list"),
        (
            '[printer]\nusb_vendor = "0x04b8"',
            "printer.usb_vendor",
            'expected a whole number, got "0x04b8" (write it without quotes: 0x04b8)',
        ),
        (
            "[database]\npath = 2024-01-01",
            "database.path",
            "expected text in quotes, got 2024-01-01",
        ),
        ('station = "MS01"', "station", 'expected a table [station], got "MS01"'),
    ],
)
def test_wrong_type(text: str, key: str, message: str) -> None:
    problem = only_problem(text + "\n")
    assert (problem.key, problem.message) == (key, message)
    assert problem.line == text.count("\n") + 1


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('language = "de"', "language", 'expected one of "nl", "en", got "de"'),
        ('[station]\nid = "ms01"', "station.id", "capital letters and digits"),
        ('[station]\nid = "MS-01"', "station.id", "it begins every label code"),
        ('[station]\nid = "1MS"', "station.id", "starting with a letter"),
        ('[station]\nname = "  "', "station.name", "must not be empty"),
        ('[scale]\nport = ""', "scale.port", "must not be empty"),
        ('[scale]\nprotocol = "mt-sic"', "scale.protocol", 'did you mean "mt-sics"?'),
        ('[scale]\nprotocol = "modbus"', "scale.protocol", '"comma", "mt-sics", "toledo"'),
        ("[scale]\nbaudrate = 9601", "scale.baudrate", "expected a standard rate"),
        ("[scale]\nbaudrate = -9600", "scale.baudrate", "got -9600"),
        ("[scale]\nbytesize = 9", "scale.bytesize", "expected 5, 6, 7 or 8 data bits, got 9"),
        ('[scale]\nparity = "X"', "scale.parity", 'expected one of "N", "E", "O", "M", "S"'),
        ("[scale]\nstopbits = 3", "scale.stopbits", "expected 1, 1.5 or 2, got 3"),
        ("[scale]\npoll_interval_ms = 0", "scale.poll_interval_ms", "expected 20 to 60000 ms"),
        ('[scale]\nstable_division = "-1"', "scale.stable_division", "above zero"),
        ('[scale]\nstable_division = "abc"', "scale.stable_division", 'such as "0.02"'),
        ('[printer]\nconnection = "bluetooth"', "printer.connection", '"preview", "file"'),
        ('[printer]\nprofile = "TM-T20"', "printer.profile", 'did you mean "TM-T20II"?'),
        ("[printer]\nport = 0", "printer.port", "expected 1 to 65535, got 0"),
        ("[printer]\nport = 70000", "printer.port", "expected 1 to 65535, got 70000"),
        ('[printer]\nflow = "hardware"', "printer.flow", '"none", "xonxoff", "rtscts"'),
        ("[printer]\nusb_product = 0x10000", "printer.usb_product", "got 0x10000"),
        ('[sync]\nurl = "central"', "sync.url", "expected a database URL"),
    ],
)
def test_bad_value(text: str, key: str, fragment: str) -> None:
    problem = only_problem(text + "\n")
    assert problem.key == key
    assert fragment in problem.message
    assert problem.line == text.count("\n") + 1


@pytest.mark.parametrize(
    ("text", "key", "line", "fragment"),
    [
        ('[printer]\nconnection = "network"\n', "printer.host", 1, "needs host"),
        ('[printer]\nconnection = "network"\nhost = " "\n', "printer.host", 3, "needs host"),
        ('[printer]\nconnection = "file"\n', "printer.path", 1, '"/dev/usb/lp0"'),
        ('[printer]\nconnection = "serial"\n', "printer.path", 1, "needs its port"),
        (
            "[scale]\npoll_interval_ms = 500\noffline_after_ms = 400\n",
            "scale.offline_after_ms",
            3,
            "must be longer than poll_interval_ms (500 ms)",
        ),
    ],
)
def test_keys_that_need_each_other(text: str, key: str, line: int, fragment: str) -> None:
    problem = only_problem(text)
    assert (problem.key, problem.line) == (key, line)
    assert fragment in problem.message


def test_printer_connections_that_have_what_they_need() -> None:
    parse_config('[printer]\nconnection = "network"\nhost = "10.0.0.9"\n')
    parse_config('[printer]\nconnection = "file"\npath = "/dev/usb/lp0"\n')
    parse_config('[printer]\nconnection = "serial"\npath = "COM3"\n')
    parse_config('[printer]\nconnection = "usb"\n')
    parse_config('[printer]\nconnection = "cups"\n')  # empty queue: the default printer


def test_protocol_judges_its_own_options() -> None:
    pytest.importorskip("drivers.scale.comma")
    problem = only_problem('[scale]\nprotocol = "comma"\n[scale.options]\nno_such_option = "1"\n')
    assert problem.key == "scale.options"
    assert problem.line == 3
    assert "no_such_option" in problem.message


def test_toml_syntax_error_reports_its_line(config_file: ConfigFile) -> None:
    path = config_file('language = "nl"\n\n[scale]\nbaudrate = 96 00\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    [problem] = info.value.problems
    assert problem.line == 4
    assert problem.key == ""
    assert problem.message.startswith("not valid TOML: ")
    assert "(at line" not in problem.message
    assert str(info.value).startswith(f"{path}:4: not valid TOML: ")


def test_toml_error_at_end_of_document_points_at_the_last_line() -> None:
    problem = only_problem('language = "nl"\n[station]\nname = "open\n')
    assert problem.line == 3


def test_duplicate_key_is_a_syntax_error() -> None:
    problem = only_problem("[scale]\nbaudrate = 9600\nbaudrate = 4800\n")
    assert problem.line == 3


def test_all_problems_are_reported_in_file_order() -> None:
    text = """\
[printer]
connection = "network"
port = "9100"

[scale]
parity = "Q"
bytesize = 9
color = "red"

[station]
id = "ms 1"
"""
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [
        ("printer.host", 1),
        ("printer.port", 3),
        ("scale.parity", 6),
        ("scale.bytesize", 7),
        ("scale.color", 8),
        ("station.id", 11),
    ]
    report = str(ConfigError(problems, Path("site.toml"))).splitlines()
    assert len(report) == 6
    assert report[1] == 'site.toml:3: [printer] port: expected a whole number, got "9100" ' + (
        "(write it without quotes: 9100)"
    )


# -- the line locator ---------------------------------------------------------------


def test_lines_of_dotted_quoted_and_inline_keys() -> None:
    text = """\
# a comment with baudrate = 1
scale.baudrate = "x"
[printer]
  "port" = "y"
[ station ]
'id' = 5
[database]
path = '''
[sync]
url = 1
'''
[sync]
url = 2
scale2 = { a = 1 }
"""
    lines = {(p.key, p.line) for p in problems_of(text)}
    assert lines == {
        ("scale.baudrate", 2),
        ("printer.port", 4),
        ("station.id", 6),
        ("sync.url", 13),
        ("sync.scale2", 14),
    }


def test_key_inside_an_inline_table_is_found_at_its_table() -> None:
    problem = only_problem('language = "nl"\nscale = { port = "sim", baudrate = "fast" }\n')
    assert (problem.key, problem.line) == ("scale.baudrate", 2)


def test_display_of_problems() -> None:
    assert ConfigProblem("language", 1, "x").display_key() == "language"
    assert ConfigProblem("scale.options.k", 1, "x").display_key() == "[scale.options] k"
    assert ConfigProblem("scale", 1, "x", table=True).display_key() == "[scale]"
    assert ConfigProblem("", None, "broken").format(None) == "config: broken"


def test_demo_mode_keeps_its_records_apart_from_the_real_ones() -> None:
    from counter_app.config import parse_config

    demo = parse_config("")
    real = parse_config('[scale]\nport = "/dev/ttyUSB0"\n')
    assert demo.is_demo and not real.is_demo
    assert demo.database_path().name == "counter-demo.sqlite3"
    assert real.database_path().name == "counter.sqlite3"
    assert demo.database_path().parent == real.database_path().parent
    # An explicit path is honoured in both.
    explicit = parse_config('[database]\npath = "/srv/counter.sqlite3"\n')
    assert str(explicit.database_path()) == "/srv/counter.sqlite3"


# -- the scale's capacity and a sensible division ----------------------------------------


def test_capacity_defaults_and_is_read_exactly() -> None:
    assert parse_config("").scale.capacity_kg == Decimal(100000)
    assert parse_config('[scale]\ncapacity_kg = "60000"\n').scale.capacity_kg == Decimal(60000)
    assert parse_config("[scale]\ncapacity_kg = 3000\n").scale.capacity_kg == Decimal(3000)
    assert parse_config('[scale]\ncapacity_kg = "0.5"\n').scale.capacity_kg == Decimal("0.5")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("60000.0", 'write the capacity in quotes, e.g. "60000"'),
        ('"0"', "expected a capacity from 0.001 to 1000000 kg"),
        ('"-60000"', "expected a capacity from 0.001 to 1000000 kg"),
        ('"1E+999999999"', "expected a capacity from 0.001 to 1000000 kg"),
        ('"NaN"', "expected a capacity from 0.001 to 1000000 kg"),
        ('"Infinity"', "expected a capacity from 0.001 to 1000000 kg"),
        ('"sixty"', 'expected a weight in kg such as "60000"'),
        ("true", 'expected a weight in kg in quotes, e.g. "60000"'),
    ],
)
def test_a_capacity_that_cannot_be_is_refused(value: str, fragment: str) -> None:
    problem = only_problem(f'[scale]\nport = "/dev/ttyUSB0"\ncapacity_kg = {value}\n')
    assert (problem.key, problem.line) == ("scale.capacity_kg", 3)
    assert fragment in problem.message


@pytest.mark.parametrize(
    "value",
    ['"1E+999999999"', '"1E-999999999"', '"0.0000001"', '"1E+7"', '"NaN"', '"sNaN"'],
)
def test_a_division_that_cannot_be_is_refused(value: str) -> None:
    problem = only_problem(f"[scale]\nstable_division = {value}\n")
    assert (problem.key, problem.line) == ("scale.stable_division", 2)
    assert "expected a division from 0.000001 up to the capacity" in problem.message


def test_a_division_larger_than_the_capacity_is_refused() -> None:
    text = '[scale]\ncapacity_kg = "150"\nstable_division = "200"\n'
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("scale.stable_division", 3)
    assert "no larger than the capacity (capacity_kg = 150)" in problem.message
    ok = parse_config('[scale]\ncapacity_kg = "150"\nstable_division = "0.05"\n')
    assert ok.scale.stable_division == Decimal("0.05")


# -- files nested too deeply ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "a = " + "{b = " * 100_000 + "1" + "}" * 100_000 + "\n",
    ],
    ids=["lists", "tables"],
)
def test_a_file_nested_too_deeply_is_a_problem_not_a_crash(text: str, tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: the file is nested too deeply (lists or tables inside each other); "
        "a counter configuration has at most two levels, e.g. [scale.options]"
    )


# -- passwords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://counter:s3cret@central/milieustraat",
            "postgresql+psycopg://counter:***@central/milieustraat",
        ),
        (
            "postgresql+psycopg://counter:p@ss:w/rd@central:5432/db?sslmode=require",
            "postgresql+psycopg://counter:***@central:5432/db?sslmode=require",
        ),
        ("postgresql+psycopg://counter@central/db", "postgresql+psycopg://counter@central/db"),
        ("postgresql+psycopg://central:5432/db", "postgresql+psycopg://central:5432/db"),
        ("", ""),
    ],
)
def test_show_hides_the_sync_password(url: str, shown: str) -> None:
    from counter_app.config import hide_password

    assert hide_password(url) == shown
    text = config_to_toml(parse_config(f'[sync]\nurl = "{url}"\n'))
    assert f'url = "{shown}"' in text
    assert "s3cret" not in text and "rd@" not in text


def test_a_wrong_sync_url_is_reported_without_its_password() -> None:
    problem = only_problem('[sync]\nurl = "postgresql://counter:s3cret@central /db"\n')
    assert problem.key == "sync.url"
    assert "s3cret" not in problem.message
    assert "counter:***@central /db" in problem.message


def test_the_line_is_the_configured_settings_over_the_protocols_defaults() -> None:
    from drivers.scale.protocol import SerialDefaults
    from drivers.scale.registry import protocol_class

    scale = parse_config('[scale]\nprotocol = "toledo"\nbaudrate = 4800\nparity = "o"\n').scale
    defaults = protocol_class("toledo").serial_defaults
    assert scale.over(defaults) == SerialDefaults(4800, defaults.bytesize, "O", defaults.stopbits)
    assert parse_config("").scale.over(defaults) == defaults


def test_the_readme_example_is_a_valid_configuration() -> None:
    """The example a technician copies from the README is read as it stands (a table
    written twice, or a key the code no longer knows, is caught here)."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(language = .*?)```", readme, re.S)
    assert example is not None
    config = parse_config(example.group(1))
    assert config.counter.allow_corrections is True
    assert config.counter.settle_seconds == 15
