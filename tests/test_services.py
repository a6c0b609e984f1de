"""The use-case functions (core/services/<feature>.py) on real SQLite and PostgreSQL: one behaviour per test."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, ScoringRun, User
from core.rules import MAX_NICHE, MAX_TAGS
from core.services import autoscore, contacts, onboarding, score, settings, tags
from core.services.onboarding import OnboardingRefused, Step
from core.services.score import ScoreRefused, ScoreSet
from core.services.settings import Saved, SettingRefused
from core.services.tags import TagRefused, TagToggled

Sessions = async_sessionmaker[AsyncSession]


async def _user(sessions: Sessions, telegram_id: int = 7001) -> int:
    async with transaction(sessions) as s:
        return (await repo.ensure_user(s, telegram_id, telegram_id)).id


async def _contact(sessions: Sessions, user_id: int, tags_: list[str] | None = None) -> int:
    async with transaction(sessions) as s:
        contact = Contact(user_id=user_id, instagram_id=f"ig{datetime.now(UTC).timestamp()}", name="Lead",
                          tags=tags_ or [])
        s.add(contact)
        await s.flush()
        return contact.id


async def _me(s: AsyncSession, user_id: int) -> User:
    user = await s.get(User, user_id)
    assert user is not None
    return user


# ---------------------------------------------------------------- onboarding


async def test_onboarding_goes_niche_then_goal_then_connect(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        me = await _me(s, uid)
        first = await onboarding.answer(s, me, "  fitness   coach ")
        second = await onboarding.answer(s, me, "sell my program")
    assert first == onboarding.Answered(Step.goal, "fitness coach")
    assert second == onboarding.Answered(Step.connect, "sell my program")


async def test_onboarding_refuses_an_empty_answer_and_keeps_the_step(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        me = await _me(s, uid)
        assert await onboarding.answer(s, me, "   ") is OnboardingRefused.EMPTY
        assert onboarding.step_of(me) is Step.niche


async def test_the_demo_finishes_onboarding(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        await onboarding.use_demo(s, await _me(s, uid))
    async with sessions() as s:
        me = await _me(s, uid)
        assert (onboarding.step_of(me), me.ig_source) == (Step.done, "demo")
        assert await onboarding.answer(s, me, "anything") is OnboardingRefused.NOT_THIS_STEP


# ---------------------------------------------------------------- settings


async def test_threshold_only_takes_offered_values(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        me = await _me(s, uid)
        assert await settings.set_hot_threshold(s, me, 65) is SettingRefused.NOT_OFFERED
        assert isinstance(await settings.set_hot_threshold(s, me, 70), Saved)
    async with sessions() as s:
        assert (await _me(s, uid)).alert_threshold == 70


async def test_timezone_is_an_iana_name(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        me = await _me(s, uid)
        for bad in ("localtime", "Mars/Olympus", ""):
            assert await settings.set_timezone(s, me, bad) is SettingRefused.UNKNOWN_TIMEZONE
        assert isinstance(await settings.set_timezone(s, me, " Europe/Berlin "), Saved)
    async with sessions() as s:
        assert (await _me(s, uid)).timezone == "Europe/Berlin"


async def test_niche_is_one_line_within_the_limit(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        me = await _me(s, uid)
        assert await settings.set_niche(s, me, "  ") is SettingRefused.EMPTY
        await settings.set_niche(s, me, "yoga\nteacher " + "x" * 500)
    async with sessions() as s:
        niche = (await _me(s, uid)).niche or ""
        assert niche.startswith("yoga teacher") and len(niche) == MAX_NICHE


async def test_alerts_toggle(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        me = await _me(s, uid)
        await settings.toggle_alerts(s, me)
    async with sessions() as s:
        assert (await _me(s, uid)).alerts_enabled is False


# ---------------------------------------------------------------- tags


async def test_toggle_adds_then_removes_a_tag(sessions: Sessions) -> None:
    uid = await _user(sessions)
    cid = await _contact(sessions, uid)
    async with sessions() as s:
        me = await _me(s, uid)
        added = await tags.toggle_tag(s, me, cid, "vip")
        assert isinstance(added, TagToggled) and added.added and added.contact.tags == ["vip"]
        removed = await tags.toggle_tag(s, me, cid, "vip")
        assert isinstance(removed, TagToggled) and not removed.added and removed.contact.tags == []


async def test_a_contact_holds_at_most_max_tags(sessions: Sessions) -> None:
    uid = await _user(sessions)
    cid = await _contact(sessions, uid, [f"t{i}" for i in range(MAX_TAGS)])
    async with sessions() as s:
        me = await _me(s, uid)
        assert await tags.add_tag(s, me, cid, "one more") is TagRefused.TOO_MANY
        assert await tags.toggle_tag(s, me, cid, "another") is TagRefused.TOO_MANY


async def test_a_typed_tag_is_normalised_and_not_duplicated(sessions: Sessions) -> None:
    uid = await _user(sessions)
    cid = await _contact(sessions, uid, ["vip"])
    async with sessions() as s:
        me = await _me(s, uid)
        assert await tags.add_tag(s, me, cid, " #  ") is TagRefused.EMPTY
        assert await tags.add_tag(s, me, cid, "vip") is TagRefused.ALREADY
        added = await tags.add_tag(s, me, cid, "#Warm   lead")
    assert isinstance(added, TagToggled) and added.tag in added.contact.tags
    assert added.contact.tags_source == "manual"


async def test_tags_of_another_creators_contact_are_not_found(sessions: Sessions) -> None:
    owner, other = await _user(sessions, 7001), await _user(sessions, 7002)
    cid = await _contact(sessions, owner)
    async with sessions() as s:
        assert await tags.toggle_tag(s, await _me(s, other), cid, "vip") is TagRefused.NOT_FOUND


# ---------------------------------------------------------------- score


async def test_a_typed_score_is_a_whole_number_0_to_100(sessions: Sessions) -> None:
    uid = await _user(sessions)
    cid = await _contact(sessions, uid)
    async with sessions() as s:
        me = await _me(s, uid)
        for bad in ("150", "-1", "4.5", "high", ""):
            assert await score.type_score(s, me, cid, bad) is ScoreRefused.NOT_A_SCORE
        result = await score.type_score(s, me, cid, " 85% ")
    assert isinstance(result, ScoreSet) and (result.contact.lead_score, result.contact.score_source) == (85, "manual")


async def test_only_offered_presets_are_taken(sessions: Sessions) -> None:
    uid = await _user(sessions)
    cid = await _contact(sessions, uid)
    async with sessions() as s:
        me = await _me(s, uid)
        assert await score.choose_preset(s, me, cid, 37) is ScoreRefused.NOT_OFFERED
        assert isinstance(await score.choose_preset(s, me, cid, 90), ScoreSet)


async def test_scoring_another_creators_contact_is_not_found(sessions: Sessions) -> None:
    owner, other = await _user(sessions, 7001), await _user(sessions, 7002)
    cid = await _contact(sessions, owner)
    async with sessions() as s:
        assert await score.choose_preset(s, await _me(s, other), cid, 90) is ScoreRefused.NOT_FOUND


# ---------------------------------------------------------------- contacts


async def test_a_visit_keeps_the_previous_one_for_new_marks(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        me = await _me(s, uid)
        await contacts.start_visit(s, me)
        first = me.last_contacts_view_at
        await contacts.start_visit(s, me)
    async with sessions() as s:
        me = await _me(s, uid)
        assert first is not None and me.prev_contacts_view_at == first


async def test_contacts_created_after_the_previous_visit_are_new(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with sessions() as s:
        await contacts.start_visit(s, await _me(s, uid))
        await contacts.start_visit(s, await _me(s, uid))
    await _contact(sessions, uid)
    async with sessions() as s:
        me = await _me(s, uid)
        shown = await contacts.list_page(s, me, 1, contacts.query_for(me))
    assert [r.is_new for r in shown.rows] == [True]


# ---------------------------------------------------------------- autoscore


async def test_a_run_shows_progress_in_one_message(sessions: Sessions) -> None:
    uid = await _user(sessions)
    async with transaction(sessions) as s:
        run = ScoringRun(user_id=uid, scope="unscored", status="running", total=1, done=0, failed=0, skipped=0,
                         tokens_in=0, tokens_out=0, hot_found=0, started_at=datetime.now(UTC))
        s.add(run)
        await s.flush()
        run_id = run.id
    assert (await autoscore.show_progress_at(sessions, run_id, 7001, 10)).previous is None
    assert (await autoscore.show_progress_at(sessions, run_id, 7001, 12)).previous == (7001, 10)
