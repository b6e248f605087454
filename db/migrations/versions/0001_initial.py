"""The initial schema: drop-offs, captured readings, print jobs, audit, outbox, labels.

Revision ID: 0001
Revises:
Create Date: 2024-11-27

Written for the counter's SQLite database: times are fixed-width UTC text (see
``db.models.UtcDateTime``), weights INTEGER grams or the indicator's TEXT. Triggers
make the record tables append-only: a correction is a new row, never an edit.

A later migration that rebuilds one of those tables (``batch_alter_table``) drops its
triggers with the old table and must create them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("drop_off", "captured_reading", "audit_entry")


def upgrade() -> None:
    op.create_table(
        "label_sequence",
        sa.Column("station_id", sa.String(), nullable=False),
        sa.Column("last_no", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name="pk_label_sequence"),
    )
    op.create_table(
        "captured_reading",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("weight", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=False),
        sa.Column("stable", sa.Boolean(), nullable=True),
        sa.Column("net", sa.Boolean(), nullable=True),
        sa.Column("tare", sa.Text(), nullable=True),
        sa.Column("raw_frame", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.Column("protocol", sa.String(), nullable=False),
        sa.Column("port", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_captured_reading"),
    )
    op.create_table(
        "drop_off",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("station_id", sa.String(), nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=False),
        sa.Column("label_no", sa.Integer(), nullable=True),
        sa.Column("label_code", sa.String(), nullable=True),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("visit_id", sa.String(), nullable=True),
        sa.Column("classification", sa.String(), nullable=False),
        sa.Column("category_code", sa.String(), nullable=False),
        sa.Column("category_name", sa.String(), nullable=False),
        sa.Column("eural_code", sa.String(), nullable=True),
        sa.Column("weight_grams", sa.Integer(), nullable=False),
        sa.Column("weight_source", sa.String(), nullable=False),
        sa.Column("operator", sa.String(), nullable=False),
        sa.Column("reading_id", sa.String(), nullable=True),
        sa.Column("voids_id", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.CheckConstraint(
            "classification IN ('reuse', 'repair', 'recycling')",
            name="ck_drop_off_classification",
        ),
        sa.CheckConstraint(
            "weight_source IN ('scale', 'difference', 'manual')",
            name="ck_drop_off_weight_source",
        ),
        sa.CheckConstraint("weight_grams > 0", name="ck_drop_off_weight_grams_positive"),
        sa.CheckConstraint(
            "(voids_id IS NULL AND label_no IS NOT NULL AND label_code IS NOT NULL)"
            " OR (voids_id IS NOT NULL AND label_no IS NULL AND label_code IS NULL"
            " AND reason IS NOT NULL)",
            name="ck_drop_off_label_or_void",
        ),
        sa.CheckConstraint(
            "weight_source <> 'manual' OR reason IS NOT NULL", name="ck_drop_off_manual_reason"
        ),
        sa.ForeignKeyConstraint(
            ["reading_id"],
            ["captured_reading.id"],
            name="fk_drop_off_reading_id_captured_reading",
        ),
        sa.ForeignKeyConstraint(
            ["voids_id"], ["drop_off.id"], name="fk_drop_off_voids_id_drop_off"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_drop_off"),
        sa.UniqueConstraint("content_hash", name="uq_drop_off_content_hash"),
        sa.UniqueConstraint("label_code", name="uq_drop_off_label_code"),
        sa.UniqueConstraint("station_id", "chain_seq", name="uq_drop_off_station_id_chain_seq"),
        sa.UniqueConstraint("station_id", "label_no", name="uq_drop_off_station_id_label_no"),
        sa.UniqueConstraint("voids_id", name="uq_drop_off_voids_id"),
    )
    op.create_index("ix_drop_off_recorded_at", "drop_off", ["recorded_at"])
    op.create_index("ix_drop_off_visit_id", "drop_off", ["visit_id"])
    op.create_table(
        "print_job",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("drop_off_id", sa.String(), nullable=True),
        sa.Column("document", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("copy_marker", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.Text(), nullable=True),
        sa.Column("reprint_of", sa.String(), nullable=True),
        sa.CheckConstraint(
            "document IN ('item_label', 'totals_slip', 'test_page')", name="ck_print_job_document"
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'cancelled')", name="ck_print_job_status"
        ),
        sa.CheckConstraint(
            "copy_marker IS NULL OR copy_marker IN ('reprint', 'duplicate')",
            name="ck_print_job_copy_marker",
        ),
        sa.CheckConstraint("attempts >= 0", name="ck_print_job_attempts"),
        sa.ForeignKeyConstraint(
            ["drop_off_id"], ["drop_off.id"], name="fk_print_job_drop_off_id_drop_off"
        ),
        sa.ForeignKeyConstraint(
            ["reprint_of"], ["print_job.id"], name="fk_print_job_reprint_of_print_job"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_print_job"),
    )
    op.create_index("ix_print_job_drop_off_id", "print_job", ["drop_off_id"])
    op.create_index("ix_print_job_status_created_at", "print_job", ["status", "created_at"])
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entry"),
    )
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])
    op.create_index("ix_audit_entry_entity_entity_id", "audit_entry", ["entity", "entity_id"])
    op.create_table(
        "outbox_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_entry"),
        sa.UniqueConstraint("entity", "entity_id", name="uq_outbox_entry_entity_entity_id"),
    )
    op.create_index("ix_outbox_entry_synced_at", "outbox_entry", ["synced_at"])

    for table in APPEND_ONLY_TABLES:
        for statement in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{statement.lower()} BEFORE {statement} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: "
                f"record a correction instead'); END"
            )


def downgrade() -> None:
    for table in APPEND_ONLY_TABLES:
        for statement in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{statement}")
    op.drop_table("outbox_entry")
    op.drop_table("audit_entry")
    op.drop_table("print_job")
    op.drop_table("drop_off")
    op.drop_table("captured_reading")
    op.drop_table("label_sequence")
