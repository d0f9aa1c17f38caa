"""Admin statistics: daily rollups of closed UTC days (interview counts and provider calls
with latency histograms), and an index for the offline fallbacks.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Filled lazily by GET /api/admin/stats (server/admin/stats.py): nothing to backfill.
    op.create_table(
        "stats_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("active_users", sa.Integer(), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("signups", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_stats_day")),
    )
    op.create_table(
        "provider_call_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("with_ttft", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost_micro_usd", sa.BigInteger(), nullable=False),
        sa.Column("latency_hist", sa.JSON(), nullable=False),
        sa.Column("ttft_hist", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["day"],
            ["stats_day.day"],
            name=op.f("fk_provider_call_day_day_stats_day"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "day",
            "provider",
            "model",
            "kind",
            "outcome",
            "error_code",
            name=op.f("pk_provider_call_day"),
        ),
    )
    op.create_index("ix_interview_provider", "interview", ["provider"], postgresql_include=["id"])


def downgrade() -> None:
    op.drop_index("ix_interview_provider", table_name="interview")
    op.drop_table("provider_call_day")
    op.drop_table("stats_day")
