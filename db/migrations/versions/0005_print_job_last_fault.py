"""The reason of a print job's last failure as a code, beside its English sentence.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``last_error`` is the driver's sentence in English, for the log and the technician; the
print queue screen words ``last_fault`` (``refused``, ``no_device`` ...) in the
attendant's language. Jobs that failed before this revision have no code: the screen
then says only that they failed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("print_job", sa.Column("last_fault", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("print_job") as batch:
        batch.drop_column("last_fault")
