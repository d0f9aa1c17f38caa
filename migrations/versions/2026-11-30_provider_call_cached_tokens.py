"""Cached input tokens per provider call: the part of ``tokens_in`` read from a context
cache, billed at the cached price (the cost column already charges it so).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Calls made before context caching read nothing from a cache: 0 is their true value.
    with op.batch_alter_table("provider_call", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cached_tokens", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("provider_call", schema=None) as batch_op:
        batch_op.drop_column("cached_tokens")
