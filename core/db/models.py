"""Typed ORM models. Column names of `contacts` follow the seed's schema exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.types import JSONList, UTCDateTime
from core.timeutil import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Telegram user ids are positive: 0 is the CLI's single-creator account (IG_ACCESS_TOKEN self-hosting).
CLI_CREATOR_ID = 0


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class User(Timestamped, Base):
    """A creator. Keyed by Telegram user id; 0 is the CLI creator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(16))
    niche: Mapped[str | None] = mapped_column(String(200))
    goal: Mapped[str | None] = mapped_column(String(300))
    onboarding_step: Mapped[str] = mapped_column(String(16), default="niche")  # niche|goal|connect|done

    # Instagram connection: "graph" (real token) or "demo" (bundled data).
    ig_source: Mapped[str | None] = mapped_column(String(16))
    ig_token_encrypted: Mapped[str | None] = mapped_column(Text)
    ig_account_id: Mapped[str | None] = mapped_column(String(64))
    ig_username: Mapped[str | None] = mapped_column(String(100))
    ig_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ig_token_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ok | expired | permission | rate_limited | error
    ig_status: Mapped[str | None] = mapped_column(String(16))
    ig_status_detail: Mapped[str | None] = mapped_column(String(500))
    ig_backoff_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ig_reconnect_notified: Mapped[bool] = mapped_column(Boolean, default=False)

    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_error: Mapped[str | None] = mapped_column(String(500))
    last_contacts_view_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 🆕 marks compare with the visit before the current one, so they survive paging within a visit.
    prev_contacts_view_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    alerts_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    alert_threshold: Mapped[int] = mapped_column(Integer, default=80)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    quiet_start_hour: Mapped[int] = mapped_column(Integer, default=22)
    quiet_end_hour: Mapped[int] = mapped_column(Integer, default=8)


class Contact(Timestamped, Base):
    """A lead: one Instagram conversation partner of one creator."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("user_id", "instagram_id", name="uq_contacts_user_instagram"),
        # /contacts (migration 0003): every filter x sort is an index-only walk (filters checked on the entries)
        Index("ix_contacts_user_score", "user_id", "lead_score", "id", "last_message_at", "tags"),
        Index("ix_contacts_user_last", "user_id", "last_message_at", "id", "lead_score", "tags"),
        Index("ix_contacts_user_sentiment_last", "user_id", "sentiment", "last_message_at", "id"),
        Index("ix_contacts_user_sentiment_score", "user_id", "sentiment", "lead_score", "id"),
        Index("ix_contacts_user_tags", "user_id", "tags"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    instagram_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSONList, default=list)
    tags_source: Mapped[str | None] = mapped_column(String(8))  # ai | manual
    sentiment: Mapped[str | None] = mapped_column(String(8))  # hot|cold|ghosted|unsure
    lead_score: Mapped[int | None] = mapped_column(Integer)  # 0..100
    score_source: Mapped[str | None] = mapped_column(String(8))  # ai | manual
    scored_by: Mapped[str | None] = mapped_column(String(64))  # model id, or "offline"
    next_action: Mapped[str | None] = mapped_column(Text)
    score_reason: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # last_message_at the current score was based on: newer messages mean "rescore me".
    scored_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message: Mapped[str | None] = mapped_column(Text)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_from_creator: Mapped[bool | None] = mapped_column(Boolean)
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Hot-lead alert state: is_hot flips on transitions; hot_episode counts them (one alert each).
    is_hot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    hot_episode: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Message(Base):
    """One synced DM. Instagram only serves the 20 newest per thread, so we keep what we saw."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("user_id", "instagram_message_id", name="uq_messages_user_igmid"),
        Index("ix_messages_contact_time", "contact_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    instagram_message_id: Mapped[str] = mapped_column(String(200))
    from_creator: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text, default="")
    attachment_kind: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoringRun(Base):
    """One "score everyone" pass. Counters are updated with each item, in the same transaction."""

    __tablename__ = "scoring_runs"
    __table_args__ = (Index("ix_scoring_runs_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(16))  # unscored | all | ids | sync
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    hot_found: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Telegram progress message (chat id, message id) so any replica can keep editing it.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)


class ScoringItem(Base):
    """One contact in a run: the unit of idempotency (a job that runs twice finds it no longer pending)."""

    __tablename__ = "scoring_items"

    run_id: Mapped[int] = mapped_column(ForeignKey("scoring_runs.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed|skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    became_hot: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(500))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Alert(Base):
    """A hot-lead alert: one row per (contact, hot episode), so each transition is announced once."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("contact_id", "episode", name="uq_alerts_contact_episode"),
        Index("ix_alerts_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    episode: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | sent | dropped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a sender claimed it (pending -> sending); a claim older than the lease is recovered after a crash.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONList)
