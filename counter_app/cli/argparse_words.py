"""argparse's own words (``usage:``, ``error:``, "the following arguments are required")
in the configured language.

argparse asks ``gettext`` for each of its sentences through the module's ``_`` and
``ngettext``; :func:`speaking` replaces those two for the time the parser is built and
used, and answers from the message catalogue. A sentence the catalogue does not word
(one meant for a programmer, "conflicting option string") stays in English.

The language is read before the arguments are parsed, from the configuration file the
command will use: only its ``language`` key, so a file with another mistake still gives
its errors in the language it asks for (the mistake itself is reported by the command).
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from counter_app.i18n import DEFAULT_LANGUAGE, LANGUAGES, Messages

#: argparse's sentence (as in CPython 3.11 to 3.13) -> catalogue key.
ARGPARSE_KEYS: Final[dict[str, str]] = {
    "usage: ": "argparse.usage",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "the following arguments are required: %s": "argparse.required",
    "one of the arguments %s is required": "argparse.one_required",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "expected one argument": "argparse.expected_one",
    "expected at most one argument": "argparse.expected_at_most_one",
    "expected at least one argument": "argparse.expected_at_least_one",
    "not allowed with argument %s": "argparse.not_allowed_with",
    "ignored explicit argument %r": "argparse.ignored_explicit",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
    "unexpected option string: %s": "argparse.unexpected_option",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "argparse.unknown_command",
    "can't open '%(filename)s': %(error)s": "argparse.cannot_open",
    "show this help message and exit": "argparse.help",
    "show program's version number and exit": "argparse.version",
    "positional arguments": "argparse.positional",
    "options": "argparse.options",
    "commands": "argparse.commands",
}

#: argparse's one sentence with a number: "expected %s argument(s)".
_EXPECTED_N: Final = ("expected %s argument", "expected %s arguments")


def argparse_language(config_arg: str | None) -> str:
    """The ``language`` of the configuration file the command will read; Dutch when there
    is none or it cannot be read (the command itself then says what is wrong)."""
    from counter_app.config_file import find_config_path

    try:
        path = find_config_path(config_arg)
        if path is None:
            return DEFAULT_LANGUAGE
        language = tomllib.loads(path.read_text(encoding="utf-8")).get("language")
    except Exception:  # a missing or broken file is the command's to report, not ours
        return DEFAULT_LANGUAGE
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def config_argument(arguments: Sequence[str]) -> str | None:
    """The value of ``--config`` among the arguments (anywhere before ``--``)."""
    for i, arg in enumerate(arguments):
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(arguments):
            return arguments[i + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
    return None


@contextmanager
def speaking(messages: Messages) -> Iterator[None]:
    """argparse speaks ``messages``' language inside the ``with`` block."""

    def gettext(message: str) -> str:
        key = ARGPARSE_KEYS.get(message) if isinstance(message, str) else None
        return message if key is None else messages.t(key)

    def ngettext(singular: str, plural: str, n: int) -> str:
        if (singular, plural) != _EXPECTED_N:
            return singular if n == 1 else plural
        return messages.t("argparse.expected_n_one" if n == 1 else "argparse.expected_n_other")

    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = gettext, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]
