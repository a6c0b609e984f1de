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
from core.rules import DEFAULT_HOT_THRESHOLD, DEFAULT_WINDOW_PUSH_HOURS
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
    # Telegram answered 403 (the creator blocked the bot): not synced nor scored until any update from them.
    bot_blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_error: Mapped[str | None] = mapped_column(String(500))
    last_contacts_view_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 🆕 marks compare with the visit before the current one, so they survive paging within a visit.
    prev_contacts_view_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_find: Mapped[str | None] = mapped_column(String(100))  # the creator's latest /find (paging re-reads it)

    alerts_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    alert_threshold: Mapped[int] = mapped_column(Integer, default=DEFAULT_HOT_THRESHOLD)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    quiet_start_hour: Mapped[int] = mapped_column(Integer, default=22)
    quiet_end_hour: Mapped[int] = mapped_column(Integer, default=8)
    # The creator's stages in order, [{key, name}, ...] then removed own stages' keys [{key, removed: true}]
    # (core.rules.stage_list reads it; None = the five defaults; migration 0015 converted the old {key: name}).
    stage_names: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONList)
    # The creator's own link (booking, shop): {link} in saved replies, and the one link AI drafts may carry.
    reply_link: Mapped[str | None] = mapped_column(String(500))
    # Hours before Instagram's reply window closes on a hot/unsure lead's unanswered message that the creator
    # is pushed (rules.WINDOW_PUSH_HOURS; 0 = off). Migration 0014.
    window_push_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_WINDOW_PUSH_HOURS,
                                                   server_default=text(str(DEFAULT_WINDOW_PUSH_HOURS)))


class Contact(Timestamped, Base):
    """A lead: one Instagram conversation partner of one creator."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("user_id", "instagram_id", name="uq_contacts_user_instagram"),
        # /contacts (migration 0003): every filter x sort is an index-only walk (filters checked on the entries)
        # stage and shelf ride on the two sort indexes (migration 0006): the list hides shelved leads and /hot
        # skips won/lost ones while still walking the index only.
        Index("ix_contacts_user_score", "user_id", "lead_score", "id", "last_message_at", "tags", "shelf", "stage"),
        Index("ix_contacts_user_last", "user_id", "last_message_at", "id", "lead_score", "tags", "shelf", "stage"),
        Index("ix_contacts_user_stage_last", "user_id", "stage", "shelf", "last_message_at", "id"),
        Index("ix_contacts_user_stage_score", "user_id", "stage", "shelf", "lead_score", "id"),
        Index("ix_contacts_user_shelf_last", "user_id", "shelf", "last_message_at", "id"),
        # The reply-window scan (core/services/reply_window.py): one creator's lead messages in a time range.
        Index("ix_contacts_user_lead_message", "user_id", "last_lead_message_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    instagram_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(Text)
    # Last User Profile API answer (or refusal: no consent, blocked): name/avatar are refreshed from it now and
    # then because profile_pic URLs expire after a few days.
    profile_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
    last_message_kind: Mapped[str | None] = mapped_column(String(32))  # its attachment kind (image, video, …)
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Times this lead became hot (rules.is_hot): one alert per episode. Hot itself is derived, never stored.
    hot_episode: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The lead's own newest message: Instagram's reply window (24 h, 7 days with HUMAN_AGENT) counts from it.
    last_lead_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Instagram said this person cannot receive messages (blocked, deleted, unavailable): shown on the card
    # until they write again.
    reply_unavailable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The lead message (its last_lead_message_at) whose closing window was pushed: claimed by one conditional
    # UPDATE, so a re-scan or a second scheduler never pushes it twice; a newer lead message may push again.
    window_pushed_for: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Lifecycle (migration 0006). stage: a key of core.rules.STAGE_KEYS; set by the AI unless the creator set it.
    stage: Mapped[str] = mapped_column(String(16), default="new", server_default=text("'new'"))
    stage_source: Mapped[str | None] = mapped_column(String(8))  # ai | manual
    stage_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The AI's latest values, kept when the creator overrides them, so "↩️ Back to AI" needs no model call.
    ai_score: Mapped[int | None] = mapped_column(Integer)
    ai_tags: Mapped[list[str] | None] = mapped_column(JSONList)
    ai_stage: Mapped[str | None] = mapped_column(String(16))
    # shelf: None (in the list) | spam | archived. Only the creator's press shelves a lead.
    shelf: Mapped[str | None] = mapped_column(String(8))
    shelved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The scorer is confident this is spam or a scam: shown as a suggestion, never acted on alone.
    spam_suggested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The creator's notes (table notes): how many and the latest, kept by core/services/notes.py for the card.
    note_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_note: Mapped[str | None] = mapped_column(Text)
    last_note_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # /find: rules.search_key of name, username, tags and the newest messages (repo.refresh_search, called by every
    # writer of those). Indexed outside the ORM (migration 0010): a trigram GIN on PostgreSQL, FTS5 on SQLite.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class ContactTag(Base):
    """One (contact, tag) pair of a contact in the list (not shelved) carrying its list sort keys, so a
    tag-filtered /contacts page is an index walk in list order and a creator's tag counts read one narrow index.

    Written ONLY by database triggers on `contacts` (migration 0007), inside the writer's own transaction:
    every writer of tags, shelves, scores or last messages (sync, scoring, manual edits, bulk loads) keeps it exact
    without knowing it exists. Read it, never write it."""

    __tablename__ = "contact_tags"
    __table_args__ = (
        Index("ix_contact_tags_user_tag_last", "user_id", "tag", "last_message_at", "contact_id"),
        Index("ix_contact_tags_user_tag_score", "user_id", "tag", "lead_score", "contact_id"),
    )

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lead_score: Mapped[int | None] = mapped_column(Integer)


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


class Note(Base):
    """The creator's own note on a lead (free text, timestamped). Shown latest first; given to the scorer as
    the creator's context, never as the lead's words."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_contact_created", "contact_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reply(Base):
    """A reply to a lead, from draft to sent. The row is the send's idempotency key: a draft is claimed
    (draft -> sending) by one conditional UPDATE before the Graph call, so a double press, a retried job or a
    second bot replica sends it once."""

    __tablename__ = "replies"
    __table_args__ = (
        Index("ix_replies_user_contact", "user_id", "contact_id"),
        UniqueConstraint("user_id", "instagram_message_id", name="uq_replies_user_igmid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(8), default="typed")  # typed | ai | saved
    # draft | sending | retrying (throttled, a job retries) | unknown (timeout: reconcile) | sent | cancelled
    status: Mapped[str] = mapped_column(String(16), default="draft")
    human_agent: Mapped[bool] = mapped_column(Boolean, default=False)  # sent with the HUMAN_AGENT tag
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(32))  # the last failure, in core.services.reply.Failure
    instagram_message_id: Mapped[str | None] = mapped_column(String(200))
    # The Telegram message showing this draft, so a worker can edit it with the outcome.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SavedReply(Base):
    """A creator's reusable answer ({first_name}, {username}, {link} filled before the preview)."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reminder(Base):
    """⏰ A reminder about a lead, due at `due_at` (UTC; quiet hours already applied). Delivered once: the worker
    claims it with one conditional UPDATE (pending -> sent) before the push, so two schedulers and two workers
    still push it once. A snooze moves it back to pending with a new time."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_status_due", "status", "due_at"),  # the scheduler's "what is due" lookup
        Index("ix_reminders_user_status_due", "user_id", "status", "due_at"),  # /reminders, a creator's claim
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | done | cancelled
    snoozes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # done or cancelled
