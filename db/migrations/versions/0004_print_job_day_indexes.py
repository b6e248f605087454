"""Indexes for a day's print jobs, with and without a station.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

The print queue screen lists a day's jobs and the older ones still waiting. Without an
index on ``created_at`` SQLite read every job of the station (a year of labels) to find
one day's.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_print_job_created_at", "print_job", ["created_at"])
    op.create_index("ix_print_job_station_id_created_at", "print_job", ["station_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_print_job_station_id_created_at", table_name="print_job")
    op.drop_index("ix_print_job_created_at", table_name="print_job")
