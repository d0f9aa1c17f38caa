"""Private rubrics per question and the interviewer's reading of each answer: the
interview's planned questions with their expected points and pitfalls (kept so a resumed
interview scores against the same rubric), and per turn the reply's kind, the incorrect
statements found, private notes and the follow-up focus.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rubrics", sa.JSON(), nullable=True))
    with op.batch_alter_table("turn", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turn", schema=None) as batch_op:
        batch_op.drop_column("assessment")
    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.drop_column("rubrics")
