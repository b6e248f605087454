"""Corrections: a drop-off may point at the drop-off it corrects.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

A correction is a new drop-off (its own label number) recorded together with the void
of the original, in one transaction; ``corrects_id`` names the original. It is unique:
an original is corrected once (a correction can itself be corrected, by its own new
row). The column is added in place (``ALTER TABLE ... ADD COLUMN``), so the table and
its append-only triggers stay as they are and a year of records takes no rebuild; the
uniqueness is a unique index, which SQLite cannot add as a column constraint.

Existing rows get NULL and keep their hashes: ``db.chain.drop_off_content`` names
``corrects_id`` only for a row that has one.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE drop_off ADD COLUMN corrects_id VARCHAR "
        "CONSTRAINT fk_drop_off_corrects_id_drop_off REFERENCES drop_off (id)"
    )
    op.create_index("uq_drop_off_corrects_id", "drop_off", ["corrects_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_drop_off_corrects_id", table_name="drop_off")
    op.execute("ALTER TABLE drop_off DROP COLUMN corrects_id")
