"""Print jobs belong to a station: ``print_job.station_id``.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-20

Two counters on one database each print only their own station's jobs, so every job
records the station whose printer it is for. Existing jobs are filled in:

- a drop-off's label (and its reprints) from the drop-off's station;
- a job without a drop-off (totals slip, test page) from the only station the
  database knows (in ``label_sequence`` or ``drop_off``), when there is exactly one.

A job without a drop-off in a database of several stations (or of none yet) keeps
``NULL``: nobody can tell where it was meant to print. If it still waits, the first
counter that starts on this database takes it over for its own station
(``db.printjobs.adopt_unassigned_jobs``); a finished one stays as it is.

The column is added with ``ALTER TABLE ... ADD COLUMN``, which does not rebuild the
table, so no trigger is dropped (``print_job`` has none: it is the one mutable table;
the append-only triggers of ``drop_off``, ``captured_reading`` and ``audit_entry`` are
on other tables and untouched). The downgrade rebuilds ``print_job`` alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_print_job_station_id_status_created_at"


def upgrade() -> None:
    op.add_column("print_job", sa.Column("station_id", sa.String(), nullable=True))
    op.execute(
        "UPDATE print_job SET station_id = "
        "(SELECT drop_off.station_id FROM drop_off WHERE drop_off.id = print_job.drop_off_id) "
        "WHERE drop_off_id IS NOT NULL"
    )
    op.execute(
        "UPDATE print_job SET station_id = (SELECT MIN(station_id) FROM ("
        "SELECT station_id FROM label_sequence UNION SELECT station_id FROM drop_off)) "
        "WHERE station_id IS NULL AND (SELECT COUNT(*) FROM ("
        "SELECT station_id FROM label_sequence UNION SELECT station_id FROM drop_off)) = 1"
    )
    op.create_index(INDEX, "print_job", ["station_id", "status", "created_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="print_job")
    with op.batch_alter_table("print_job") as batch:
        batch.drop_column("station_id")
