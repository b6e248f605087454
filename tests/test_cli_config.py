"""``counter config check | show | path``."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from counter_app.cli import CliContext, main
from counter_app.cli import config as cli_config
from counter_app.config import TOO_DEEP

ConfigFile = Callable[..., Path]  # the config_file fixture of conftest.py


def run_handler(handler, config_arg: str | None = None) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    code = handler(argparse.Namespace(), CliContext(config_arg=config_arg, out=out, err=err))
    return code, out.getvalue(), err.getvalue()


BROKEN = '[scale]\nbaudrate = "fast"\n[printr]\n'


# -- handlers, called directly ------------------------------------------------------


def test_check_without_a_file() -> None:
    assert run_handler(cli_config.check) == (0, "OK: no configuration file; demo defaults\n", "")


def test_check_a_good_file(config_file: ConfigFile) -> None:
    path = config_file('[station]\nid = "MS02"\n')
    assert run_handler(cli_config.check, str(path)) == (0, f"OK: {path}\n", "")


def test_check_a_broken_file_lists_every_problem(config_file: ConfigFile) -> None:
    path = config_file(BROKEN)
    code, out, err = run_handler(cli_config.check, str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f'{path}:2: [scale] baudrate: expected a whole number, got "fast"',
        f"{path}:3: [printr]: unknown table; did you mean [printer]?",
    ]


def test_check_a_missing_file(tmp_path: Path) -> None:
    code, out, err = run_handler(cli_config.check, str(tmp_path / "none.toml"))
    assert (code, out) == (2, "")
    assert "file not found (named by --config)" in err


def test_show_prints_the_effective_configuration(config_file: ConfigFile) -> None:
    path = config_file('language = "en"\n[printer]\nconnection = "usb"\n')
    code, out, err = run_handler(cli_config.show, str(path))
    assert (code, err) == (0, "")
    shown = tomllib.loads(out)
    assert shown["language"] == "en"
    assert shown["printer"]["connection"] == "usb"
    assert shown["printer"]["usb_vendor"] == 0x04B8  # defaults are shown too
    assert shown["station"]["id"] == "MS01"
    assert out.startswith(f"# Effective configuration from {path}\n")


def test_show_a_broken_file(config_file: ConfigFile) -> None:
    code, out, err = run_handler(cli_config.show, str(config_file(BROKEN)))
    assert (code, out) == (2, "")
    assert "[scale] baudrate" in err


def test_path_default_that_does_not_exist(isolated_dirs: Path) -> None:
    expected = isolated_dirs / "config" / "milieustraat-counter" / "config.toml"
    assert run_handler(cli_config.path) == (
        0,
        f"{expected}\ndefault location; does not exist, so the counter runs on demo defaults\n",
        "",
    )


def test_path_from_option_and_environment(
    config_file: ConfigFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_file("")
    assert run_handler(cli_config.path, str(path)) == (
        0,
        f"{path}\ngiven with --config; exists\n",
        "",
    )
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("COUNTER_CONFIG", str(missing))
    code, out, _ = run_handler(cli_config.path)
    assert code == 1
    assert (
        out == f"{missing}\ngiven in $COUNTER_CONFIG; does not exist (the counter will not start)\n"
    )


def test_path_does_not_read_the_file(config_file: ConfigFile) -> None:
    path = config_file(BROKEN)
    assert run_handler(cli_config.path, str(path))[0] == 0


# -- through the command line -------------------------------------------------------


def test_main_config_check(config_file: ConfigFile, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file('language = "en"\n')
    assert main(["--config", str(path), "config", "check"]) == 0
    assert capsys.readouterr().out == f"OK: {path}\n"


def test_main_config_check_broken(
    config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(BROKEN)
    assert main(["--config", str(path), "config", "check"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f'{path}:2: [scale] baudrate: expected a whole number, got "fast"' in captured.err


def test_main_config_check_uses_the_environment(
    config_file: ConfigFile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file("")
    monkeypatch.setenv("COUNTER_CONFIG", str(path))
    assert main(["config", "check"]) == 0
    assert capsys.readouterr().out == f"OK: {path}\n"


def test_main_config_show_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["scale"]["port"] == "sim"
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.endswith("demo defaults\n")


def test_main_config_without_a_command_shows_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 2
    assert "check" in capsys.readouterr().err


def test_a_file_nested_too_deeply_is_named_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "counter_app", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}: {TOO_DEEP}"]


def test_show_hides_the_sync_password(
    config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file('[sync]\nurl = "postgresql+psycopg://counter:s3cret@central/db"\n')
    assert main(["--config", str(path), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert tomllib.loads(out)["sync"]["url"] == "postgresql+psycopg://counter:***@central/db"


def test_show_includes_the_capacity(
    config_file: ConfigFile, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file('[scale]\ncapacity_kg = "60000"\nstable_division = "20"\n')
    assert main(["--config", str(path), "config", "show"]) == 0
    scale = tomllib.loads(capsys.readouterr().out)["scale"]
    assert (scale["capacity_kg"], scale["stable_division"]) == ("60000", "20")
