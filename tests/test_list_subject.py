"""A list's buttons stay on its subject: paging, sorting and ⬅️ back from a card keep the stage, the tag or the
/find text of the message they are on. An older /find message keeps paging its own search when the text is
short enough to ride in the buttons; a longer one pages the latest search and the press says so."""

from __future__ import annotations

from bot import screens
from bot.callbacks import ContactCb, ListCb, find_tag, literal_of, packs, tag_key
from bot.keyboards import back_of, contact_cb, list_cb, same_subject, subject_key
from core.db import repo
from core.db.engine import transaction
from core.db.repo import ContactQuery, Filter
from core.services import search
from tests.test_find_paging import seeded


def subject(query: ContactQuery) -> tuple[object, ...]:
    return query.filter, query.sort, query.tag, query.stage, query.text


def buttons(screen: screens.Screen) -> dict[str, str]:
    assert screen.markup is not None
    return {b.text: b.callback_data or "" for row in screen.markup.inline_keyboard for b in row}


async def followed(session, user, screen: screens.Screen) -> list[ContactQuery]:
    """The queries that ›, ‹, the sort toggle and ⬅️ back from the first card resolve to."""
    data = buttons(screen)
    card = next(d for d in data.values() if d.startswith("c:"))
    pressed = [ListCb.unpack(data["›"]), ListCb.unpack(data["‹"]),
               ListCb.unpack(next(d for t, d in data.items() if t.startswith("↕"))),
               back_of(ContactCb.unpack(card))]
    return [await screens.resolve_query(session, user, cb) for cb in pressed]


async def test_paging_sorting_and_back_keep_the_stage_tag_and_find(db_url, sessions) -> None:
    me, _ = await seeded(sessions)  # 60 leads, all in stage "new"
    async with transaction(sessions) as s:
        for cid in sorted((await repo.list_contacts(s, me, 1, ContactQuery(), page_size=60)).contacts,
                          key=lambda c: c.id)[:25]:
            await repo.set_manual_tags(s, me, cid.id, ["vip"])
    async with sessions() as s:
        user = await repo.get_user(s, 8801)
        assert user is not None
        found = await search.start_find(s, user, "PRICE")
        assert isinstance(found, ContactQuery)
        starts = ((ListCb(f=Filter.stage.value, t="new"), None), (ListCb(f=Filter.tag.value, t="=vip"), None),
                  (ListCb(f=Filter.search.value), found))
        for start, query in starts:
            shown = query or await screens.resolve_query(s, user, start)
            assert shown.filter is not Filter.all and (shown.stage or shown.tag or shown.text), start
            screen = await screens.contacts_list(s, user, start, shown)
            assert screen.page is not None and screen.page.pages > 1, start
            for resolved in await followed(s, user, screen):
                assert (resolved.filter, resolved.tag, resolved.stage, resolved.text) == (
                    shown.filter, shown.tag, shown.stage, shown.text), start
            # The next page holds only the subject's leads.
            nxt = await screens.contacts_list(s, user, ListCb.unpack(buttons(screen)["›"]))
            assert nxt.page is not None and nxt.page.page == 2 and nxt.page.total == screen.page.total


async def test_an_older_find_message_pages_its_own_search(db_url, sessions) -> None:
    await seeded(sessions)
    async with sessions() as s:
        user = await repo.get_user(s, 8801)
        assert user is not None
        short = await search.start_find(s, user, "Price")
        assert isinstance(short, ContactQuery)
        old = await screens.contacts_list(s, user, ListCb(f=Filter.search.value), short)
        long_text = "what is the price see you tomorrow"  # over the 20 bytes that travel literally
        long = await search.start_find(s, user, long_text)
        assert isinstance(long, ContactQuery) and long.text == long_text
        long_screen = await screens.contacts_list(s, user, ListCb(f=Filter.search.value), long)
        assert user.last_find == long_text
        # The short one is its own text in the buttons: still "price" after a newer /find.
        for resolved in await followed(s, user, old):
            assert subject(resolved)[2:] == (None, None, "price")
        # The long one travels as a hash: while it is the latest it resolves to itself ...
        sort_press = ListCb.unpack(next(d for t, d in buttons(long_screen).items() if t.startswith("↕")))
        again = await screens.resolve_query(s, user, sort_press)
        assert again.text == long_text and subject_key(again) == sort_press.t
        # ... and after a newer /find it resolves to the latest, which the press says (subject_key differs).
        await search.start_find(s, user, "hello")
        replaced = await screens.resolve_query(s, user, sort_press)
        assert replaced.text == "hello" and subject_key(replaced) != sort_press.t
        # Forged literal text is normalised like a typed query; an empty one is everyone.
        forged = await screens.resolve_query(s, user, ListCb(f=Filter.search.value, t="=PRÍCE"))
        assert forged.filter is Filter.search and forged.text == "price"
        nothing = await screens.resolve_query(s, user, ListCb(f=Filter.search.value, t="=\u0301"))
        assert nothing.filter is Filter.all


async def test_wide_card_buttons_fit_64_bytes_and_keep_the_subject(db_url, sessions) -> None:
    """The widest card buttons (ids at their limit, a deep page) with a 20-byte tag or /find text: the text
    travels as its hash instead of breaking the keyboard, and ⬅️ back still finds the list."""
    me, _ = await seeded(sessions)
    long_tag, long_find = "buying-intent-vip-20", "what is the price ok"
    assert len(long_tag.encode()) == len(long_find.encode()) == 20
    async with transaction(sessions) as s:
        first = (await repo.list_contacts(s, me, 1, ContactQuery())).contacts[0].id
        await repo.set_manual_tags(s, me, first, [long_tag])
    async with sessions() as s:
        user = await repo.get_user(s, 8801)
        assert user is not None
        found = await search.start_find(s, user, long_find)
        assert isinstance(found, ContactQuery)
        tagged = await screens.resolve_query(s, user, ListCb(f=Filter.tag.value, t=tag_key(long_tag)))
        assert tagged.tag == long_tag
        for query in (tagged, found):
            back = list_cb(99999, query)
            assert literal_of(back.t) is not None and packs(back)  # the list's own buttons keep the literal
            for action in ("usesaved", "rescore", "stages"):
                cb = contact_cb(action, repo.MAX_ID, back, v=repo.MAX_ID)
                assert packs(cb), (action, query.filter)
                again = await screens.resolve_query(s, user, back_of(ContactCb.unpack(cb.pack())))
                assert (again.filter, again.tag, again.text) == (query.filter, query.tag, query.text)
                assert same_subject(cb.t, again)
            toggle = contact_cb("tog", repo.MAX_ID, back, tag=tag_key(long_tag))
            assert packs(toggle) and find_tag(toggle.t, [long_tag, "other"]) == long_tag
