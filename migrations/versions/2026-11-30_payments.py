"""Buying credits: payments with their history, handled webhook deliveries, and balances
that a refund may take below zero. Also the pauses a candidate takes between questions, and
two indexes of provider calls the statistics no longer read (percentiles now come from the
daily rollup's histograms), which only slowed every call's insert.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS = sa.Enum(
    "created",
    "authorized",
    "captured",
    "failed",
    "refunded",
    name="payment_status",
    native_enum=False,
    create_constraint=True,
    length=16,
)


def upgrade() -> None:
    op.drop_index("ix_provider_call_ttft", table_name="provider_call")
    op.drop_index("ix_provider_call_latency", table_name="provider_call")
    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pauses", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("paused_s", sa.Integer(), server_default="0", nullable=False))
    # A refund removes its pack's credits even when they were spent (server/payments/ledger.py).
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_credit_balance_non_negative"), type_="check")
    op.create_table(
        "payment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("pack", sa.String(length=32), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("razorpay_order_id", sa.String(length=64), nullable=False),
        sa.Column("razorpay_payment_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=24), nullable=True),
        sa.Column("method_detail", sa.String(length=80), nullable=True),
        sa.Column("failure_reason", sa.String(length=300), nullable=True),
        sa.Column("refunded_paise", sa.Integer(), nullable=False),
        sa.Column("credits_removed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_payment_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("razorpay_order_id", name=op.f("uq_payment_razorpay_order_id")),
        sa.UniqueConstraint("razorpay_payment_id", name=op.f("uq_payment_razorpay_payment_id")),
    )
    op.create_index("ix_payment_user_id_created_at", "payment", ["user_id", "created_at"])
    op.create_index("ix_payment_created_at", "payment", ["created_at"])
    op.create_index("ix_payment_captured_at", "payment", ["captured_at"])
    op.create_table(
        "payment_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("razorpay_payment_id", sa.String(length=64), nullable=True),
        sa.Column("razorpay_refund_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment.id"],
            name=op.f("fk_payment_event_payment_id_payment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_event")),
        sa.UniqueConstraint("razorpay_refund_id", name=op.f("uq_payment_event_razorpay_refund_id")),
    )
    op.create_index(op.f("ix_payment_event_payment_id"), "payment_event", ["payment_id"])
    op.create_table(
        "webhook_delivery",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=48), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index(op.f("ix_webhook_delivery_received_at"), "webhook_delivery", ["received_at"])


def downgrade() -> None:
    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.drop_column("paused_s")
        batch_op.drop_column("pauses")
    op.drop_index(op.f("ix_webhook_delivery_received_at"), table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index(op.f("ix_payment_event_payment_id"), table_name="payment_event")
    op.drop_table("payment_event")
    op.drop_index("ix_payment_captured_at", table_name="payment")
    op.drop_index("ix_payment_created_at", table_name="payment")
    op.drop_index("ix_payment_user_id_created_at", table_name="payment")
    op.drop_table("payment")
    # Balances a refund took below zero are clamped, or the constraint could not come back.
    op.execute('UPDATE "user" SET credit_balance = 0 WHERE credit_balance < 0')
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_user_credit_balance_non_negative"), "credit_balance >= 0"
        )
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
