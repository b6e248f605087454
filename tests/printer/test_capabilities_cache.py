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
    assert Path(result.stdout.splitlines()[-1]) == pickle_path(folder)


def test_a_stale_or_half_written_pickle_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = capabilities_file()
    assert source is not None
    target = pickle_path(tmp_path)
    target.write_bytes(b"\x80\x02}q\x00(X")  # cut off, and older than the database
    os.utime(target, (0, 0))
    monkeypatch.setenv(PICKLE_DIR_VARIABLE, str(tmp_path))
    cache_capabilities()
    with target.open("rb") as file:
        cached = pickle.load(file)
    assert cached == json.loads(source.read_text(encoding="utf-8"))
    assert target.stat().st_mtime >= source.stat().st_mtime
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


def test_a_folder_that_cannot_be_made_leaves_escpos_its_own_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv(PICKLE_DIR_VARIABLE, str(blocked / "escpos"))
    cache_capabilities()
    # escpos would fail writing its pickle there: it gets its own temporary folder.
    assert PICKLE_DIR_VARIABLE not in os.environ
