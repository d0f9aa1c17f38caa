"""Report sharing: an optional, revocable share token per interview.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.add_column(sa.Column("share_token", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_interview_share_token"), ["share_token"])


def downgrade() -> None:

    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_interview_share_token"), type_="unique")
        batch_op.drop_column("share_token")
