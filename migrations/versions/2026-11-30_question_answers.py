"""Model answers and common misconceptions for the question bank, so offline scoring can
compare an answer's meaning: two JSON columns, filled for the seeded questions whose text is
still the shipped one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.llm.offline.bank import BANK_DIR, load_bank

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("model_answer", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("misconceptions", sa.JSON(), nullable=False, server_default="[]")
        )
    question = sa.table(
        "question",
        sa.column("id", sa.String()),
        sa.column("text", sa.Text()),
        sa.column("model_answer", sa.JSON()),
        sa.column("misconceptions", sa.JSON()),
    )
    # An admin who rewrote a question's text asked something else: leave it without content.
    for questions in load_bank(BANK_DIR).values():
        for q in questions:
            data = q.as_dict()
            op.execute(
                question.update()
                .where(question.c.id == q.id, question.c.text == q.text)
                .values(model_answer=data["model_answer"], misconceptions=data["misconceptions"])
            )


def downgrade() -> None:
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_column("misconceptions")
        batch_op.drop_column("model_answer")
