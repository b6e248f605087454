"""How long the property tests search: a short search in `make test`, the full one in
`make soak`.

A property test finds most faults in its first few dozen examples (hypothesis tries
the edges first: empty input, zero, the largest value), and it keeps every example that
ever failed in its database (`.hypothesis/`) to try first the next time. The full
search (hundreds of examples for every parser) is what a soak is for; the short one
keeps `make test` quick. Both run the same tests with the same strategies.
"""

from __future__ import annotations

import os

import pytest

#: `make soak` sets this to search as far as each test asks.
FULL_SEARCH = os.environ.get("COUNTER_FUZZ") == "full"

#: Marks a property test whose search depth follows `examples`; `make soak` selects them.
fuzz = pytest.mark.fuzz


def examples(full: int) -> int:
    """The number of examples to try: ``full`` in a soak, a fifth of it (at least 40)
    otherwise."""
    return full if FULL_SEARCH else min(full, max(40, full // 5))
