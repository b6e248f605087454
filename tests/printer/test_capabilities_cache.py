"""python-escpos's printer database comes from a whole pickle in the counter's cache
folder, the same database escpos would parse itself."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from counter_app.cli.main import ESCPOS_PICKLE_DIR
from drivers.printer.capabilities_cache import (
    PICKLE_DIR_VARIABLE,
    cache_capabilities,
    capabilities_file,
    pickle_folder,
    pickle_path,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_counter_names_the_variable_python_escpos_reads() -> None:
    assert ESCPOS_PICKLE_DIR == PICKLE_DIR_VARIABLE == "ESCPOS_CAPABILITIES_PICKLE_DIR"


def test_the_counter_prints_from_the_cached_database_escpos_would_parse(
    config_file: Callable[..., Path], isolated_dirs: Path, tmp_path: Path
) -> None:
    """The program (``counter config check`` reads the printer profiles) makes the pickle
    in its cache folder; escpos loads it instead of parsing, and gets what it parses."""
    path = config_file(
        f"""
        [printer]
        connection = "preview"
        profile = "TM-T20II"
        path = "{tmp_path / "labels"}"
        """
    )
    code = (
        "import sys, yaml\n"
        "from counter_app.cli import main\n"
        "sys.argv = ['counter', '--config', sys.argv[1], 'config', 'check']\n"
        "assert main() == 0\n"
        "import escpos.capabilities as loaded\n"
        "assert not loaded.full_load, 'escpos parsed its database'\n"
        "with open(loaded.capabilities_path, encoding='utf-8') as file:\n"
        "    assert loaded.CAPABILITIES == yaml.safe_load(file)\n"
        "print(loaded.pickle_path)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != PICKLE_DIR_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    folder = isolated_dirs / "cache" / "milieustraat-counter" / "escpos"
    source = capabilities_file()
    assert source is not None
    assert Path(result.stdout.splitlines()[-1]) == pickle_path(pickle_folder(folder, source))


@pytest.mark.parametrize(
    "damage",
    [b"", b"\x80\x02}q\x00(X", b"not a pickle"],
    ids=["emptied-by-a-power-cut", "half-written", "garbage"],
)
def test_a_damaged_pickle_is_made_again_even_when_it_looks_new(
    damage: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newer than the database and still no good: escpos would load it at start and
    stop the counter."""
    source = capabilities_file()
    assert source is not None
    own = pickle_folder(tmp_path, source)
    own.mkdir()
    target = pickle_path(own)
    target.write_bytes(damage)
    monkeypatch.setenv(PICKLE_DIR_VARIABLE, str(tmp_path))
    cache_capabilities()
    assert os.environ[PICKLE_DIR_VARIABLE] == str(own)
    with target.open("rb") as file:
        cached = pickle.load(file)
    assert cached == json.loads(source.read_text(encoding="utf-8"))
    assert target.stat().st_mode & 0o777 == 0o644  # another user of the machine reads it
    assert [p.name for p in own.iterdir()] == [target.name]  # no temporary file left


def test_a_pickle_of_another_database_file_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A technician's own capabilities file, newer than escpos's: once the variable is
    unset again, escpos's own database is cached apart, not the technician's."""
    source = capabilities_file()
    assert source is not None
    custom = tmp_path / "custom.json"
    custom.write_text('{"profiles": {}, "encodings": {}}', encoding="utf-8")
    cache = tmp_path / "cache"
    monkeypatch.setenv(PICKLE_DIR_VARIABLE, str(cache))
    monkeypatch.setenv("ESCPOS_CAPABILITIES_FILE", str(custom))
    cache_capabilities()
    first = Path(os.environ[PICKLE_DIR_VARIABLE])
    monkeypatch.delenv("ESCPOS_CAPABILITIES_FILE")
    monkeypatch.setenv(PICKLE_DIR_VARIABLE, str(cache))
    cache_capabilities()
    second = Path(os.environ[PICKLE_DIR_VARIABLE])
    assert first != second
    with pickle_path(second).open("rb") as file:
        assert pickle.load(file) == json.loads(source.read_text(encoding="utf-8"))


def test_a_folder_that_cannot_be_made_leaves_escpos_its_own_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv(PICKLE_DIR_VARIABLE, str(blocked / "escpos"))
    cache_capabilities()
    # escpos would fail writing its pickle there: it gets its own temporary folder.
    assert PICKLE_DIR_VARIABLE not in os.environ
