"""Admin console: the audit log, accounts an admin can disable, notes to the interviewer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "admin_action",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("admin_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target_type", sa.String(length=24), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_id"],
            ["user.id"],
            name=op.f("fk_admin_action_admin_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_action")),
    )
    with op.batch_alter_table("admin_action", schema=None) as batch_op:
        batch_op.create_index("ix_admin_action_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_action_admin_id"), ["admin_id"], unique=False)
    # The admin console's statistics and audit filters (server/admin/stats.py; measured by
    # server/bench/admin_stats.py). INCLUDE (PostgreSQL) lets a range be read from the index.
    op.create_index("ix_admin_action_target", "admin_action", ["target_type", "target_id"])
    op.create_index("ix_user_created_at", "user", ["created_at"])
    op.create_index(
        "ix_interview_created_at", "interview", ["created_at"], postgresql_include=["owner_id"]
    )
    op.create_index("ix_interview_started_at", "interview", ["started_at"])
    op.create_index(
        "ix_interview_finished_at",
        "interview",
        ["finished_at"],
        postgresql_include=["status", "track", "id"],
    )
    # Percentiles of successful calls read from the index (see server/admin/stats.py).
    op.create_index(
        "ix_provider_call_latency",
        "provider_call",
        ["model", "kind", "latency_ms", "created_at"],
        postgresql_where=sa.text("outcome = 'ok'"),
        sqlite_where=sa.text("outcome = 'ok'"),
    )
    op.create_index(
        "ix_provider_call_ttft",
        "provider_call",
        ["model", "kind", "ttft_ms", "created_at"],
        postgresql_where=sa.text("outcome = 'ok' AND ttft_ms IS NOT NULL"),
        sqlite_where=sa.text("outcome = 'ok' AND ttft_ms IS NOT NULL"),
    )
    # The few calls that failed or were cancelled (offline fallbacks).
    op.create_index(
        "ix_provider_call_failed",
        "provider_call",
        ["created_at"],
        postgresql_include=["interview_id", "provider", "kind", "outcome"],
        postgresql_where=sa.text("outcome <> 'ok'"),
        sqlite_where=sa.text("outcome <> 'ok'"),
    )

    op.create_table(
        "admin_note",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("interview_id", sa.Uuid(), nullable=False),
        sa.Column("admin_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_id"], ["user.id"], name=op.f("fk_admin_note_admin_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_admin_note_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_note")),
    )
    with op.batch_alter_table("admin_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_note_interview_id"), ["interview_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_note_interview_id"))
    op.drop_table("admin_note")
    for table, index in (
        ("provider_call", "ix_provider_call_failed"),
        ("provider_call", "ix_provider_call_ttft"),
        ("provider_call", "ix_provider_call_latency"),
        ("interview", "ix_interview_finished_at"),
        ("interview", "ix_interview_started_at"),
        ("interview", "ix_interview_created_at"),
        ("user", "ix_user_created_at"),
        ("admin_action", "ix_admin_action_target"),
    ):
        op.drop_index(index, table_name=table)
    with op.batch_alter_table("admin_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_action_admin_id"))
        batch_op.drop_index("ix_admin_action_created_at")
    op.drop_table("admin_action")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
