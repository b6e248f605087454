"""argparse's own words (usage, errors) speak the configured language."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from counter_app.cli.argparse_words import ARGPARSE_KEYS, argparse_language, config_argument
from counter_app.cli.main import build_parser, main
from counter_app.i18n import LANGUAGES, Messages, message_catalogue
from tests.conftest import ConfigFileFactory
from tests.english_words import english_in

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


# -- our own help texts --------------------------------------------------------------------


def _every_parser(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _every_parser(child)


def _typed_words(parser: argparse.ArgumentParser) -> set[str]:
    """What a person types, shown as typed in every language: command names, options,
    their placeholders and choices ("scale", "check" and "--force" are commands)."""
    words: set[str] = set()
    for each in _every_parser(parser):
        words.update(each.prog.split())
        for action in each._actions:
            words.update(action.option_strings)
            for name in (action.metavar, action.dest):
                if isinstance(name, str):
                    words.add(name)
            words.update(str(choice) for choice in action.choices or ())
    return words


def _all_help(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """``--help`` of the counter and of every command, by command."""
    language = argparse_language(config_argument(arguments))
    texts: dict[str, str] = {}
    for parser in _every_parser(build_parser(Messages(language))):
        command = parser.prog.split()[1:]
        with pytest.raises(SystemExit) as exit_info:
            main([*arguments, *command, "--help"])
        assert exit_info.value.code == 0
        captured = capsys.readouterr()
        assert captured.err == ""
        texts[" ".join(["counter", *command])] = captured.out
    return texts


def _english_in_help(texts: dict[str, str]) -> dict[str, list[str]]:
    typed = _typed_words(build_parser(Messages("nl")))
    found = {}
    for command, text in texts.items():
        # Split at spaces, punctuation and the hyphen inside a word ("scale-opdrachten").
        words = [
            w for w in re.split(r"(\s+|[.,;:()\[\]{}'\"]|(?<=\w)-(?=\w))", text) if w not in typed
        ]
        if english := english_in("".join(words)):
            found[command] = english
    return found


def test_every_commands_help_speaks_dutch(
    config_file: ConfigFileFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    dutch = str(config_file('language = "nl"\n'))
    texts = _all_help(["--config", dutch], capsys)
    assert len(texts) >= 19  # the counter, its 7 commands and their 11 sub-commands
    assert texts["counter"].startswith("gebruik: counter [-h]")
    assert "Weegbalie van de milieustraat" in texts["counter"]
    assert "toon het versienummer en stop" in texts["counter"]
    assert "de afgiften van een periode exporteren" in texts["counter"]
    assert "F vervangen als het bestaat (nooit een database)" in texts["counter export"]
    assert _english_in_help(texts) == {}


def test_every_commands_help_in_english_is_found(
    config_file: ConfigFileFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # The check above can fail: the same help in English is found, command by command.
    english = str(config_file('language = "en"\n'))
    texts = _all_help(["--config", english], capsys)
    assert texts["counter"].startswith("usage: counter [-h]")
    found = _english_in_help(texts)
    assert sorted(found) == sorted(texts)
