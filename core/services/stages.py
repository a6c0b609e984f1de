"""Stages: where each lead stands (new → talking → offer sent → won / lost), set by the creator or the AI.

A stage the creator sets is theirs (stage_source = "manual"): the AI's suggestion is kept in ai_stage and never
applied over it. Won and lost leads leave /hot and alerts (core.rules.is_hot); their history stays and any
stage change reopens them.

The creator names every stage and may add their own (at most rules.MAX_STAGES in all) among the open ones, e.g.
"call booked" after talking; the order is fixed once added. The AI only suggests the five built-in stages, so a
lead is in an own stage only because the creator put it there. Removing an own stage moves its leads to the stage
before it (the closest step they had reached), told on the confirmation before anything moves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import repo
from core.db.models import Contact, User
from core.rules import (
    CLOSED_STAGES,
    MAX_STAGES,
    SHELVES,
    STAGE_KEYS,
    custom_stage_code,
    next_custom_key,
    normalize_stage_name,
    parse_stage,
    removed_stage_keys,
    stage_list,
    stage_names,
    stored_stages,
)
from core.timeutil import utcnow


class StageRefused(enum.Enum):
    NOT_FOUND = "not_found"
    UNKNOWN_STAGE = "unknown_stage"
    EMPTY_NAME = "empty_name"
    NAME_TAKEN = "name_taken"
    TOO_MANY = "too_many"  # MAX_STAGES already
    BUILT_IN = "built_in"  # the five built-in stages stay (they can be renamed)
    BAD_PLACE = "bad_place"  # an own stage goes among the open ones: after new, before won and lost


@dataclass(frozen=True)
class StageSet:
    contact: Contact
    stage: str
    name: str  # the creator's name for it
    changed: bool


@dataclass(frozen=True)
class StageRenamed:
    stage: str
    name: str


@dataclass(frozen=True)
class StageAdded:
    stage: str
    name: str
    after: str  # the key of the stage it follows


@dataclass(frozen=True)
class StageRemoval:
    """Removing an own stage: its leads (`leads`, shelved ones included) go to the stage before it. The same value
    is the question (removal_plan) and the answer (remove_stage: `leads` = how many moved)."""

    stage: str
    name: str
    leads: int
    to_stage: str
    to_name: str


def names_of(user: User) -> dict[str, str]:
    """The creator's stage names by key, in their fixed order."""
    return stage_names(user.stage_names)


def key_of(user: User, value: object) -> str | None:
    """One of the creator's stage keys (callback data, a filter), else None."""
    text = str(value or "").strip().lower()
    return text if text in names_of(user) else None


def can_add(user: User) -> bool:
    return len(names_of(user)) < MAX_STAGES


async def _lock_stages(session: AsyncSession, user: User) -> None:
    """Re-read the creator's stages under a row lock (PostgreSQL; SQLite writes one at a time anyway): two
    presses at once cannot both add the 8th stage or lose each other's rename, and a lead cannot be put in an
    own stage while it is being removed."""
    await session.refresh(user, ["stage_names"], with_for_update=True)


def _name_taken(stages: list[tuple[str, str]], name: str, skip: str = "") -> bool:
    # two stages with one name could not be told apart in the picker, the filter or the export
    return any(other.casefold() == name.casefold() for key, other in stages if key != skip)


async def set_stage(session: AsyncSession, user: User, contact_id: int, stage: str) -> StageSet | StageRefused:
    """The creator sets a lead's stage (manual: the AI will not change it). Commits."""
    if custom_stage_code(str(stage or "").strip().lower()) is not None:
        await _lock_stages(session, user)
    key = key_of(user, stage)
    if key is None:
        return StageRefused.UNKNOWN_STAGE
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return StageRefused.NOT_FOUND
    changed = contact.stage != key
    if changed:
        contact.stage_changed_at = utcnow()
    contact.stage, contact.stage_source = key, "manual"
    await session.commit()
    return StageSet(contact, key, names_of(user)[key], changed)


async def stage_back_to_ai(session: AsyncSession, user: User, contact_id: int) -> StageSet | StageRefused:
    """↩️ Back to AI: drop the creator's stage; the AI's latest suggestion applies (or "new" until it has one,
    and the next scoring sets it). The AI only suggests built-in stages. Commits."""
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return StageRefused.NOT_FOUND
    key = parse_stage(contact.ai_stage) or "new"
    changed = contact.stage != key
    if changed:
        contact.stage_changed_at = utcnow()
    contact.stage, contact.stage_source = key, ("ai" if contact.ai_stage else None)
    await session.commit()
    return StageSet(contact, key, names_of(user)[key], changed)


async def rename_stage(session: AsyncSession, user: User, stage: str, raw_name: str) -> StageRenamed | StageRefused:
    """Rename one stage for this creator (the order and the keys never change). Commits."""
    await _lock_stages(session, user)
    key = key_of(user, stage)
    if key is None:
        return StageRefused.UNKNOWN_STAGE
    name = normalize_stage_name(raw_name)
    if not name:
        return StageRefused.EMPTY_NAME
    current = stage_list(user.stage_names)
    if _name_taken(current, name, skip=key):
        return StageRefused.NAME_TAKEN
    _store(user, [(k, name if k == key else other) for k, other in current])
    await session.commit()
    return StageRenamed(key, name)


def _store(user: User, stages: list[tuple[str, str]], removed: tuple[str, ...] = ()) -> None:
    user.stage_names = stored_stages(stages, [*removed_stage_keys(user.stage_names), *removed])


async def add_stage(session: AsyncSession, user: User, raw_name: str, after: str | None = None,
                    ) -> StageAdded | StageRefused:
    """Add an own stage right after `after` (an open stage; default: the last open one, just before won and
    lost). Its key is new and stays when renamed. Commits."""
    await _lock_stages(session, user)
    current = stage_list(user.stage_names)
    if len(current) >= MAX_STAGES:
        return StageRefused.TOO_MANY
    keys = [key for key, _ in current]
    place = key_of(user, after) if after is not None else keys[-len(CLOSED_STAGES) - 1]
    if place is None:
        return StageRefused.UNKNOWN_STAGE
    if place in CLOSED_STAGES:
        return StageRefused.BAD_PLACE
    name = normalize_stage_name(raw_name)
    if not name:
        return StageRefused.EMPTY_NAME
    if _name_taken(current, name):
        return StageRefused.NAME_TAKEN
    key = next_custom_key(user.stage_names)
    if key is None:  # ~1000 own stages added over time: keys are never reused
        return StageRefused.TOO_MANY
    current.insert(keys.index(place) + 1, (key, name))
    _store(user, current)
    await session.commit()
    return StageAdded(key, name, place)


async def removal_plan(session: AsyncSession, user: User, stage: str) -> StageRemoval | StageRefused:
    """What removing an own stage would do (the confirmation's words). Reads only."""
    current = stage_list(user.stage_names)
    keys = [key for key, _ in current]
    key = key_of(user, stage)
    if key is None:
        return StageRefused.UNKNOWN_STAGE
    if key in STAGE_KEYS:
        return StageRefused.BUILT_IN
    to = keys[keys.index(key) - 1]  # never the first: "new" is
    leads = (await session.execute(select(func.count()).select_from(Contact).where(
        Contact.user_id == user.id, Contact.stage == key))).scalar_one()
    return StageRemoval(key, dict(current)[key], int(leads), to, dict(current)[to])


async def remove_stage(session: AsyncSession, user: User, stage: str) -> StageRemoval | StageRefused:
    """Remove an own stage; its leads move to the stage before it (stage change now, the creator's mark kept:
    the AI never picks an own stage, so those leads were put there by hand). Commits."""
    await _lock_stages(session, user)
    plan = await removal_plan(session, user, stage)
    if isinstance(plan, StageRefused):
        return plan
    moved = await session.execute(update(Contact).where(Contact.user_id == user.id, Contact.stage == plan.stage)
                                  .values(stage=plan.to_stage, stage_changed_at=utcnow()))
    _store(user, [(k, n) for k, n in stage_list(user.stage_names) if k != plan.stage], (plan.stage,))
    await session.commit()
    return StageRemoval(plan.stage, plan.name, int(moved.rowcount or 0), plan.to_stage, plan.to_name)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StageOverview:
    names: dict[str, str]  # key -> the creator's name, in order
    counts: dict[str, int]  # leads in the list per stage (shelved ones not counted)
    shelves: dict[str, int]  # spam / archived


async def overview(session: AsyncSession, user: User) -> StageOverview:
    grouped = await repo.stage_counts(session, user.id)
    names = names_of(user)
    counts = {key: 0 for key in names}
    shelves = {shelf: 0 for shelf in SHELVES}
    for (stage, shelf), n in grouped.items():
        if shelf is None and stage in counts:
            counts[stage] += n
        elif shelf in shelves:
            shelves[shelf] += n
    return StageOverview(names, counts, shelves)
