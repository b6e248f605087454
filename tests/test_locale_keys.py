"""Every message key the code asks for exists in every language.

The catalogue test checks that the languages agree with each other; this one reads
the code (``ast``) for the keys it passes to ``t(...)``, ``messages.t(...)`` and
``counted(messages, ...)``, so a key that was renamed or never written fails here
instead of showing its bare name to a person. A key built at run time
(``f"cli_verify.problem_{code}"``) must at least match some key with that prefix;
the words for each reason code are checked where the codes are listed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_app.i18n import LANGUAGES, message_catalogue

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "counter_app").rglob("*.py"))


def _key_arguments(tree: ast.AST) -> Iterator[tuple[int, ast.expr, bool]]:
    """(line, key expression, counted) for every call that looks up a message."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "t":
            yield node.lineno, node.args[0], False
        elif name == "counted" and len(node.args) >= 2:
            yield node.lineno, node.args[1], True


def _used_keys() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    exact: set[tuple[str, str]] = set()
    prefixes: set[tuple[str, str]] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, argument, counted in _key_arguments(tree):
            where = f"{path.relative_to(ROOT)}:{line}"
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                keys = [argument.value] + ([f"{argument.value}_one"] if counted else [])
                exact.update((key, where) for key in keys)
            elif isinstance(argument, ast.JoinedStr) and argument.values:
                first = argument.values[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
                    prefixes.add((first.value, where))
    return exact, prefixes


EXACT, PREFIXES = _used_keys()


def test_the_code_asks_for_keys_at_all() -> None:
    # Guards the scanner itself: if it found nothing, the tests below prove nothing.
    assert len(EXACT) > 100
    assert any(key == "cli_verify.ok" for key, _ in EXACT)
    assert any(prefix == "cli_verify.problem_" for prefix, _ in PREFIXES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_used_in_the_code_exists(language: str) -> None:
    catalogue = message_catalogue(language)
    missing = sorted(f"{key} ({where})" for key, where in EXACT if key not in catalogue)
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_built_in_the_code_has_words(language: str) -> None:
    catalogue = message_catalogue(language)
    missing = sorted(
        f"{prefix}... ({where})"
        for prefix, where in PREFIXES
        if not any(key.startswith(prefix) for key in catalogue)
    )
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_chain_problem_has_words(language: str) -> None:
    from db.verify import CHAIN_PROBLEM_CODES

    catalogue = message_catalogue(language)
    missing = [c for c in CHAIN_PROBLEM_CODES if f"cli_verify.problem_{c}" not in catalogue]
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reason_code_has_words(language: str) -> None:
    from db.engine import DatabaseProblem
    from drivers.printer.connection import PrinterFault
    from drivers.scale.link import LinkCause

    catalogue = message_catalogue(language)
    keys = [
        *(f"printer.fault.{fault.value}" for fault in PrinterFault),
        *(f"scale_cause.{cause.value}" for cause in LinkCause),
        *(f"database_problem.{problem.value}" for problem in DatabaseProblem),
        "printer.fault.interrupted",  # db.printjobs.INTERRUPTED_FAULT
    ]
    assert [key for key in keys if key not in catalogue] == []
