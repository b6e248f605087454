"""An anchor: one link of a station's hash chain, named outside the database (see
:mod:`db.chain`), and the stations' newest links read as anchors.

Apart from :mod:`db.chain` (which re-exports the anchor) so that ``counter totals``
prints the chain heads through the ``sqlite3`` module alone, without SQLAlchemy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.read_only import Execute

# The short form of an anchor carries this many hex digits of the hash (64 bits):
# short enough to copy from a slip, far too many to forge a rewritten chain that ends
# in the same digits.
ANCHOR_HEX_DIGITS = 16

_ANCHOR = re.compile(r"^(?P<station>\S+):(?P<seq>[0-9]{1,12}):(?P<hash>[0-9a-fA-F]{16,64})$")


class AnchorError(ValueError):
    """Text that is not an anchor (``MS01:1234:9f86d081884c7d65``)."""


@dataclass(frozen=True, slots=True)
class Anchor:
    """One link of a station's chain, named outside the database.

    ``digest`` is the link's ``content_hash`` or its first 16 or more hex digits.
    Written as ``STATION:SEQ:HASH`` (:meth:`text`), e.g. ``MS01:1234:9f86d081884c7d65``.
    """

    station_id: str
    chain_seq: int
    digest: str

    def text(self, digits: int = ANCHOR_HEX_DIGITS) -> str:
        return f"{self.station_id}:{self.chain_seq}:{self.digest[:digits]}"

    def matches(self, content_hash: str) -> bool:
        return content_hash.startswith(self.digest)

    @classmethod
    def parse(cls, text: str) -> Anchor:
        found = _ANCHOR.match(text.strip())
        if found is None:
            raise AnchorError(
                f"{text!r} is not an anchor: it looks like STATION:NUMBER:HASH, with at "
                f"least {ANCHOR_HEX_DIGITS} hex digits of the hash (MS01:1234:9f86d081884c7d65)"
            )
        return cls(found["station"], int(found["seq"]), found["hash"].lower())


#: Each station's head, as ``label_sequence`` names it; a station that has recorded
#: nothing yet (position 0) has no link to name.
CHAIN_HEADS_SQL = (
    "SELECT station_id, chain_seq, chain_hash FROM label_sequence "
    "WHERE chain_seq > 0 ORDER BY station_id"
)


def read_chain_heads(execute: Execute) -> tuple[Anchor, ...]:
    """Each station's newest link, as its head row names it: the anchors to print on a
    slip or carry in an export (cheap: no walk; ``db.verify.verify_chain`` checks them)."""
    return tuple(
        Anchor(str(station_id), int(chain_seq), str(chain_hash))
        for station_id, chain_seq, chain_hash in execute(CHAIN_HEADS_SQL).fetchall()
    )
