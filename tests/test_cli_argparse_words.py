"""argparse's own words (usage, errors) speak the configured language."""

from __future__ import annotations

import argparse

import pytest

from counter_app.cli.argparse_words import ARGPARSE_KEYS
from counter_app.cli.main import main
from counter_app.i18n import LANGUAGES, message_catalogue
from tests.conftest import ConfigFileFactory

ENGLISH_WORDS = ("usage", "error", "argument required", "expected", "the following", "invalid")


def _fails(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_a_missing_value_in_dutch(
    config_file: ConfigFileFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    dutch = str(config_file('language = "nl"\n'))
    err = _fails(["--config", dutch, "totals", "--day"], capsys)
    assert err.startswith("gebruik: counter totals [-h]")
    assert err.endswith("counter totals: fout: argument --day: verwacht één waarde\n")
    found = [word for word in ENGLISH_WORDS if word in err.lower()]
    assert found == []


def test_missing_arguments_in_dutch_without_a_config_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No file at all: the counter's default language, Dutch.
    err = _fails(["export"], capsys)
    assert err.startswith("gebruik: counter export [-h]")
    assert err.endswith(
        "counter export: fout: deze argumenten zijn verplicht: --from, --to, --format\n"
    )


def test_the_same_mistakes_in_english(
    config_file: ConfigFileFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    english = str(config_file('language = "en"\n'))
    err = _fails(["totals", "--day", "--config", english], capsys)  # --config after it
    assert err.startswith("usage: counter totals [-h]")
    assert err.endswith("counter totals: error: argument --day: expected one argument\n")
    err = _fails(["export", f"--config={english}"], capsys)
    assert err.endswith(
        "counter export: error: the following arguments are required: --from, --to, --format\n"
    )


def test_an_unknown_command_and_a_broken_config_file(
    config_file: ConfigFileFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # The file has a mistake elsewhere; its language still holds for argparse.
    broken = str(config_file('language = "en"\n[scale]\nbaud = "fast"\n'))
    err = _fails(["--config", broken, "bogus"], capsys)
    assert "counter: error: argument COMMAND: invalid choice: 'bogus'" in err
    err = _fails(["bogus"], capsys)
    assert "counter: fout: argument COMMAND: ongeldige keuze: 'bogus' (kies uit" in err


def test_help_of_a_command_group_without_a_command_is_in_dutch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["printer"])
    err = capsys.readouterr().err
    assert err.startswith("gebruik: counter printer")
    assert "toon deze hulp en stop" in err


def test_argparse_is_itself_again_after_main() -> None:
    with pytest.raises(SystemExit):
        main(["export"])
    parser = argparse.ArgumentParser(prog="x")
    assert parser.format_usage() == "usage: x [-h]\n"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_argparse_sentence_has_words(language: str) -> None:
    catalogue = message_catalogue(language)
    keys = [*ARGPARSE_KEYS.values(), "argparse.expected_n_one", "argparse.expected_n_other"]
    assert [key for key in keys if key not in catalogue] == []
