"""Voice answers: each spoken answer's delivery, and its recording when the operator keeps them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
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
    with op.batch_alter_table("turn", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.JSON(), nullable=True))
    op.create_table(
        "answer_audio",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("interview_id", sa.Uuid(), nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("pcm", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_answer_audio_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_audio")),
        sa.UniqueConstraint(
            "interview_id", "upload_id", name="uq_answer_audio_interview_id_upload_id"
        ),
    )
    with op.batch_alter_table("answer_audio", schema=None) as batch_op:
        batch_op.create_index("ix_answer_audio_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("answer_audio", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_audio_created_at")
    op.drop_table("answer_audio")
    with op.batch_alter_table("turn", schema=None) as batch_op:
        batch_op.drop_column("delivery")
