"""Tables: users, the credit ledger, interviews with their turns, scores and report."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(StrEnum):
    candidate = "candidate"
    admin = "admin"


class Track(StrEnum):
    backend = "backend"
    frontend = "frontend"
    data_ml = "data_ml"
    product = "product"
    behavioral = "behavioral"


class Level(StrEnum):
    junior = "junior"
    mid = "mid"
    senior = "senior"


class InterviewStatus(StrEnum):
    created = "created"
    live = "live"
    finished = "finished"
    abandoned = "abandoned"


class TurnKind(StrEnum):
    question = "question"
    follow_up = "follow_up"


class TurnOutcome(StrEnum):
    answered = "answered"
    skipped = "skipped"
    timed_out = "timed_out"


class AnswerSource(StrEnum):
    typed = "typed"
    voice = "voice"


def _enum(enum_cls: type[StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK on every backend: portable, and adding a value is a plain migration.
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        Index("ix_user_created_at", "created_at"),  # sign-ups per day (admin statistics)
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.candidate)
    # Bumped to revoke every token issued before (password change, "log out everywhere").
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    # Cached sum of this user's ledger deltas; spent with one guarded UPDATE so
    # concurrent requests can never overdraw it. The ledger stays the record. Only a refund
    # takes it below zero (its credits were spent); new interviews wait until it is settled.
    credit_balance: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an admin: the account cannot sign in, its tokens stop working.
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)


class CreditEntry(Base):
    """One movement of credits. ``external_ref`` is unique so nothing is applied twice."""

    __tablename__ = "credit_entry"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    external_ref: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentStatus(StrEnum):
    created = "created"  # an order was opened; nothing paid yet
    authorized = "authorized"  # paid, not yet captured
    captured = "captured"  # paid and captured: the pack's credits were granted
    failed = "failed"  # the latest attempt failed (another attempt may still succeed)
    refunded = "refunded"  # refunded in full or in part: the refunded share of credits removed


class Payment(Base):
    """One purchase of a credit pack: our record of a Razorpay order and the payment that
    settled it. ``status_history`` (``payment_event``) says how it got here."""

    __tablename__ = "payment"
    __table_args__ = (
        Index("ix_payment_user_id_created_at", "user_id", "created_at"),
        Index("ix_payment_created_at", "created_at"),
        Index("ix_payment_captured_at", "captured_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    pack: Mapped[str] = mapped_column(String(32))
    credits: Mapped[int] = mapped_column(Integer)
    amount_paise: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="INR")
    status: Mapped[PaymentStatus] = mapped_column(
        _enum(PaymentStatus, "payment_status"), default=PaymentStatus.created
    )
    razorpay_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The attempt that settled the order (an order may see several attempts).
    razorpay_payment_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    method: Mapped[str | None] = mapped_column(String(24), default=None)  # upi, card, ...
    # What the candidate may see of the instrument: a masked VPA, a card network and last 4.
    method_detail: Mapped[str | None] = mapped_column(String(80), default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    refunded_paise: Mapped[int] = mapped_column(Integer, default=0)
    credits_removed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    captured_at: Mapped[datetime | None] = mapped_column(default=None)
    refunded_at: Mapped[datetime | None] = mapped_column(default=None)

    history: Mapped[list[PaymentEvent]] = relationship(
        back_populates="payment",
        order_by="PaymentEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class PaymentEvent(Base):
    """One step of a payment's history: what changed, what told us (checkout, webhook,
    refresh, admin), and the Razorpay payment attempt it concerns."""

    __tablename__ = "payment_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payment.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    source: Mapped[str] = mapped_column(String(16))
    razorpay_payment_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # Set on the step that applied a refund: unique, so a refund is applied once.
    razorpay_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    detail: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="history")


class WebhookDelivery(Base):
    """A Razorpay webhook event already handled (``x-razorpay-event-id``): a redelivery of the
    same event is acknowledged and ignored. Kept for a week (Razorpay retries for a day)."""

    __tablename__ = "webhook_delivery"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(48))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Interview(Base):
    __tablename__ = "interview"
    __table_args__ = (
        Index("ix_interview_owner_id_created_at", "owner_id", "created_at"),
        # The admin statistics read a range of days from these (server/admin/stats.py).
        Index("ix_interview_created_at", "created_at", postgresql_include=["owner_id"]),
        Index("ix_interview_started_at", "started_at"),
        Index(
            "ix_interview_finished_at", "finished_at", postgresql_include=["status", "track", "id"]
        ),
        CheckConstraint("question_count BETWEEN 1 AND 20", name="question_count_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    track: Mapped[Track] = mapped_column(_enum(Track, "track"))
    level: Mapped[Level] = mapped_column(_enum(Level, "level"))
    topics: Mapped[list[str]] = mapped_column(default=list)
    job_description: Mapped[str] = mapped_column(Text, default="")
    resume_text: Mapped[str] = mapped_column(Text, default="")
    question_count: Mapped[int] = mapped_column(SmallInteger)
    answer_time_limit_s: Mapped[int] = mapped_column(Integer)
    status: Mapped[InterviewStatus] = mapped_column(
        _enum(InterviewStatus, "interview_status"), default=InterviewStatus.created
    )
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    # Millionths of a US dollar: exact and portable, unlike floats or SQLite decimals.
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger, default=0)
    # Pauses between questions the candidate took (the report mentions them).
    pauses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paused_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set while the owner shares the report; anyone with the token can read it.
    share_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # The planned main questions with their private rubrics (server.llm.base.QuestionRubric
    # as JSON), written once when the interview is first planned; never sent to the candidate.
    rubrics: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )

    turns: Mapped[list[Turn]] = relationship(
        back_populates="interview",
        order_by="Turn.index",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )
    report: Mapped[Report | None] = relationship(
        back_populates="interview", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )


class Turn(Base):
    """One question (or follow-up) and what the candidate did with it."""

    __tablename__ = "turn"
    __table_args__ = (UniqueConstraint("interview_id", "index", name="uq_turn_interview_id_index"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    interview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interview.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TurnKind] = mapped_column(_enum(TurnKind, "turn_kind"))
    question_id: Mapped[str | None] = mapped_column(String(64), default=None)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    answer_source: Mapped[AnswerSource | None] = mapped_column(
        _enum(AnswerSource, "answer_source"), default=None
    )
    outcome: Mapped[TurnOutcome | None] = mapped_column(
        _enum(TurnOutcome, "turn_outcome"), default=None
    )
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    # A spoken answer's delivery (server.protocol.Delivery as JSON); None for typed answers.
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    # The scorer's reading of the answer beside its scores: the reply's kind, incorrect
    # statements, private notes and the follow-up focus (records.assessment_of).
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)

    interview: Mapped[Interview] = relationship(back_populates="turns", lazy="raise")
    scores: Mapped[list[Score]] = relationship(
        back_populates="turn",
        order_by="Score.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )


class Score(Base):
    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("turn_id", "criterion", name="uq_score_turn_id_criterion"),
        CheckConstraint("value BETWEEN 1 AND 5", name="value_range"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turn.id", ondelete="CASCADE"))
    criterion: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(SmallInteger)
    evidence: Mapped[str] = mapped_column(Text, default="")
    suggestion: Mapped[str] = mapped_column(Text, default="")
    rubric_version: Mapped[str] = mapped_column(String(16))

    turn: Mapped[Turn] = relationship(back_populates="scores", lazy="raise")


class Report(Base):
    __tablename__ = "report"

    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), primary_key=True
    )
    overall_score: Mapped[float]
    strengths: Mapped[list[str]] = mapped_column(default=list)
    weaknesses: Mapped[list[str]] = mapped_column(default=list)
    next_steps: Mapped[list[str]] = mapped_column(default=list)
    rubric_version: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="report", lazy="raise")


class ProviderCall(Base):
    """One call to the interviewer model: what it cost and how it went (model health)."""

    __tablename__ = "provider_call"
    __table_args__ = (
        Index("ix_provider_call_created_at", "created_at"),
        # The few calls that failed or were cancelled (offline fallbacks).
        Index(
            "ix_provider_call_failed",
            "created_at",
            postgresql_include=["interview_id", "provider", "kind", "outcome"],
            postgresql_where=text("outcome <> 'ok'"),
            sqlite_where=text("outcome <> 'ok'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    interview_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("interview.id", ondelete="SET NULL"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(16))  # turn | score | report | transcribe | check
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # ok | error | cancelled
    error_code: Mapped[str | None] = mapped_column(String(32), default=None)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    # Of tokens_in, those read from a context cache (charged at the cached price in the cost).
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer)
    ttft_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminAction(Base):
    """One thing an admin did (the audit log): who, what, to what, when."""

    __tablename__ = "admin_action"
    __table_args__ = (
        Index("ix_admin_action_created_at", "created_at"),
        Index("ix_admin_action_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # Kept when the admin's account is deleted: the log outlives who wrote it.
    admin_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(48))  # e.g. "credits.grant", "interview.note"
    target_type: Mapped[str] = mapped_column(String(24))  # "user", "interview", "question"
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminNote(Base):
    """A hidden note an administrator sent the interviewer; ``turn`` is the turn it shaped
    (None until then). Part of the transcript for administrators, never shown to candidates."""

    __tablename__ = "admin_note"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), index=True
    )
    admin_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(Text)
    turn: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerAudio(Base):
    """A spoken answer's recording, kept only when the operator enables it
    (INTERVIEW_VOICE_KEEP_AUDIO); deleted with its interview and after the retention period."""

    __tablename__ = "answer_audio"
    __table_args__ = (
        UniqueConstraint(
            "interview_id", "upload_id", name="uq_answer_audio_interview_id_upload_id"
        ),
        Index("ix_answer_audio_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    interview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interview.id", ondelete="CASCADE"))
    upload_id: Mapped[str] = mapped_column(String(64))
    turn: Mapped[int] = mapped_column(Integer)
    sample_rate: Mapped[int] = mapped_column(Integer)
    pcm: Mapped[bytes] = mapped_column(LargeBinary)  # 16-bit little-endian mono
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshTokenFamily(Base):
    """One sign-in: every refresh token rotated from it belongs to it and is revoked with it."""

    __tablename__ = "refresh_token_family"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the newest token of the family expires; a family past it is pruned.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(16), default=None)


class RefreshToken(Base):
    """One refresh token (its JWT ``jti``); spent when rotated, naming its successor."""

    __tablename__ = "refresh_token"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("refresh_token_family.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None] = mapped_column(default=None)
    successor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)


class PasswordResetToken(Base):
    """A single-use password reset link; only the SHA-256 of its secret is kept."""

    __tablename__ = "password_reset_token"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class Question(Base):
    """A question of the bank the admins edit (seeded from ``server/llm/bank/*.toml``).

    Never deleted, only retired: a retired question is never planned for a new interview, and
    its id stays readable. ``version`` goes up by one with every change (edit, retire, restore).
    """

    __tablename__ = "question"
    __table_args__ = (Index("ix_question_track_level", "track", "level"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "backend-junior-01"
    track: Mapped[Track] = mapped_column(_enum(Track, "track"))
    level: Mapped[Level] = mapped_column(_enum(Level, "level"))
    topics: Mapped[list[str]] = mapped_column(default=list)
    text: Mapped[str] = mapped_column(Text)
    # [{"point": str, "keywords": [str, ...]}, ...]: what a strong answer covers (BankPoint).
    points: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    follow_up: Mapped[str] = mapped_column(Text)
    # [str, ...] and [{"claim", "cues", "challenge"}, ...]: what scoring by meaning compares an
    # answer with (BankQuestion.model_answer, BankMisconception).
    model_answer: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    misconceptions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    version: Mapped[int] = mapped_column(Integer)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The admin who changed it last; None for the seeded questions (and a deleted admin).
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )

    # The ORM bumps ``version`` with every UPDATE it makes, guarded by the version it read:
    # two admins saving the same question at once cannot both win silently.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class InterviewPlan(Base):
    """The main questions an interview was planned with, as they were then: whichever
    process runs the interview later asks, scores and reports on exactly these, whatever
    the admins have edited since."""

    __tablename__ = "interview_plan"

    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), primary_key=True
    )
    # BankQuestion.as_dict() of each planned question, in the order they are asked.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- admin statistics: daily rollups of closed UTC days (server/admin/stats.py) -------------


class StatsDay(Base):
    """One closed UTC day of the admin statistics, rolled up once it ended (lazily, by the
    first request that covers it). Its row is also the marker that the day's
    ``provider_call_day`` rows are complete: both are written in one transaction. Delete it
    (its call rows go with it) to have the day rolled up again."""

    __tablename__ = "stats_day"

    day: Mapped[date] = mapped_column(primary_key=True)
    created: Mapped[int] = mapped_column(Integer)  # interviews created
    active_users: Mapped[int] = mapped_column(Integer)  # users who created one
    started: Mapped[int] = mapped_column(Integer)
    finished: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    signups: Mapped[int] = mapped_column(Integer)
    # Reports of the interviews that ended that day: {"backend": [reports, sum of scores]}.
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    rolled_up_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderCallDay(Base):
    """The provider calls of one closed UTC day, summed per provider, model, kind, outcome
    and error code ('' for none: part of the key). The latency and time-to-first-token
    histograms (of calls that succeeded) are sparse JSON bucket counts, ``{"57": 12}``, over
    the log-scaled buckets of ``server.admin.stats.LATENCY_BUCKETS``."""

    __tablename__ = "provider_call_day"

    day: Mapped[date] = mapped_column(
        ForeignKey("stats_day.day", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    error_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    with_ttft: Mapped[int] = mapped_column(Integer)
    tokens_in: Mapped[int] = mapped_column(BigInteger)
    tokens_out: Mapped[int] = mapped_column(BigInteger)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger)
    latency_hist: Mapped[dict[str, Any]] = mapped_column(JSON)
    ttft_hist: Mapped[dict[str, Any]] = mapped_column(JSON)


# Offline fallbacks (admin statistics): the interviews now on a given interviewer, joined to
# the failed calls of a range without reading the whole table.
Index("ix_interview_provider", Interview.provider, postgresql_include=["id"])
