"""Common English words, to find them where the counter is meant to speak Dutch: the
screens (tests/ui/test_dutch_everywhere.py), the questions of a void or correction
and the command line's help and errors."""

from __future__ import annotations

import re

ENGLISH_WORDS = (
    "the", "and", "to", "with", "not", "cannot", "can't", "error", "failed", "failure",
    "connection", "refused", "refuses", "found", "unknown", "press", "quit", "waiting",
    "queued", "ready", "weight", "label", "printed", "unreachable", "permission", "device",
    "please", "usage", "reprint", "scale", "preview", "stable", "motion", "recorded",
    "saved", "such", "does", "would", "should", "fault", "lost", "answer", "busy",
    "database", "timed", "check", "cover", "paper", "empty", "help", "close",
)  # fmt: skip
# "database" and "help" are Dutch words too (the screens say "Database", "F1 Help"): listed
# for what they are, left out of the search.
_DUTCH_TOO = {"database", "help"}
_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in ENGLISH_WORDS if w not in _DUTCH_TOO) + r")\b",
    re.IGNORECASE,
)


def english_in(text: str) -> list[str]:
    return sorted({match.group(0).lower() for match in _PATTERN.finditer(text)})
