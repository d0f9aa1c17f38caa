"""The question bank in the database, seeded from the shipped TOML files, and each
interview's planned questions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from server.llm.offline.bank import BANK_DIR, load_bank
from server.store.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRACKS = ("backend", "frontend", "data_ml", "product", "behavioral")
_LEVELS = ("junior", "mid", "senior")


def upgrade() -> None:
    question = op.create_table(
        "question",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column(
            "track",
            sa.Enum(*_TRACKS, name="track", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column(
            "level",
            sa.Enum(*_LEVELS, name="level", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user.id"],
            name=op.f("fk_question_updated_by_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question")),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index("ix_question_track_level", ["track", "level"], unique=False)
    op.create_table(
        "interview_plan",
        sa.Column("interview_id", sa.Uuid(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_interview_plan_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("interview_id", name=op.f("pk_interview_plan")),
    )
    _seed(question)


def _seed(question: sa.Table) -> None:
    """The shipped questions, read by the loader the offline interviewer used until now (so
    a fresh database holds the same 180 questions, checked by the same rules)."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": q.id,
            "track": q.track,
            "level": q.level,
            "topics": list(q.topics),
            "text": q.text,
            "points": [{"point": p.point, "keywords": list(p.keywords)} for p in q.points],
            "follow_up": q.follow_up,
            "version": 1,
            "retired_at": None,
            "created_at": now,
            "updated_at": now,
            "updated_by": None,
        }
        for questions in load_bank(BANK_DIR).values()
        for q in questions
    ]
    # The model's timestamp type: the same stored form as rows the app writes, on each backend.
    seeded = sa.table(
        "question",
        *(
            sa.column(c.name, UTCDateTime() if c.name.endswith("_at") else c.type)
            for c in question.columns
        ),
    )
    op.bulk_insert(seeded, rows)


def downgrade() -> None:
    op.drop_table("interview_plan")
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index("ix_question_track_level")
    op.drop_table("question")
