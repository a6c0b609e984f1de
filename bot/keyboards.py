"""Inline keyboards. Button texts are clipped; callback data comes only from bot.callbacks factories."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import (
    AccountCb,
    ContactCb,
    FindCb,
    JumpCb,
    ListCb,
    ReminderCb,
    ReplyCb,
    RunCb,
    SavedCb,
    SetCb,
    StageCb,
    StageMenuCb,
    StartCb,
    StatsCb,
    TagMenuCb,
    hashed_key,
    literal_of,
    packs,
    tag_key,
)
from core.db.models import Contact, Note, Reply, SavedReply, User
from core.db.repo import ContactQuery, Filter, Page, Sort
from core.rules import (
    CLOSED_STAGES,
    EVENING_HOUR,
    HOT_THRESHOLDS,
    MORNING_HOUR,
    REMINDER_PRESETS,
    SCORE_PRESETS,
    SNOOZE_PRESETS,
    STAGE_KEYS,
    WINDOW_PUSH_HOURS,
    WINDOW_PUSH_OFF,
    clip,
    display_name,
    next_stage,
    stage_code,
    stage_emoji,
)
from core.services.listing import Row, first_number

TAG_PICKER_PAGE = 12


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=clip(text, 40), callback_data=data)


def list_cb(page: int, query: ContactQuery) -> ListCb:
    return ListCb(p=page, f=query.filter.value, s=query.sort.value, t=subject_key(query))


def subject_key(query: ContactQuery) -> str:
    """What a list's buttons carry to name its subject (the tag, the stage, the /find text), so paging, sorting
    and ⬅️ back from a card stay on that list."""
    if query.filter is Filter.tag and query.tag:
        return tag_key(query.tag)
    if query.filter is Filter.stage and query.stage:
        return query.stage
    if query.filter is Filter.search and query.text:
        return tag_key(query.text)  # itself when short; else a hash, matched against the latest /find
    return ""


def same_subject(key: str, query: ContactQuery) -> bool:
    """Whether a button's key names the list `query` shows (as its literal or its hash)."""
    literal = literal_of(subject_key(query))
    return key == subject_key(query) or (literal is not None and key == hashed_key(literal))


def contact_cb(action: str, contact_id: int, back: ListCb, v: int = 0, tag: str = "") -> ContactCb:
    cb = ContactCb(a=action, id=contact_id, p=back.p, f=back.f, s=back.s, t=tag or back.t, v=v)
    literal = literal_of(cb.t)
    if literal is not None and not packs(cb):  # wide ids and a deep page: the literal's hash keeps it in 64 bytes
        cb = cb.model_copy(update={"t": hashed_key(literal)})
    return cb


def back_of(cb: ContactCb) -> ListCb:
    return ListCb(p=cb.p, f=cb.f, s=cb.s, t=cb.t if cb.f in (Filter.tag, Filter.stage, Filter.search) else "")


def list_keyboard(page: Page, rows: Sequence[Row], query: ContactQuery,
                  names: Mapping[str, str]) -> InlineKeyboardMarkup:
    here = list_cb(page.page, query)
    kb = InlineKeyboardBuilder()
    for n, row in enumerate(rows, first_number(page)):
        kb.add(_button(f"{n}. {row.emoji} {clip(row.name, 18)} · {row.score}", contact_cb("card", row.contact_id,
                                                                                            here).pack()))
    kb.adjust(2)
    if page.pages > 1:
        kb.row(
            _button("‹", list_cb(page.pages if page.page == 1 else page.page - 1, query).pack()),
            _button(f"page {page.page}/{page.pages}", JumpCb(**here.model_dump()).pack()),
            _button("›", list_cb(1 if page.page == page.pages else page.page + 1, query).pack()),
        )
    kb.row(*(_filter_button(f, label, query) for f, label in
             ((Filter.hot, "🔥 Hot"), (Filter.high, "≥ 70"), (Filter.unscored, "∅ Unscored"))),
           _button("✖️ 🔎 Clear", ListCb(p=1, s=query.sort.value).pack()) if query.filter is Filter.search
           else _button("🔎 Find", FindCb().pack()))
    tag_label = f"✅ 🏷 {query.tag}" if query.filter is Filter.tag and query.tag else "🏷 By tag"
    other = Sort.last if query.sort is Sort.score else Sort.score
    kb.row(_button(tag_label, TagMenuCb(s=query.sort.value).pack()),
           _button(_stage_label(query, names), StageMenuCb(s=query.sort.value).pack()),
           _button("↕ Newest first" if other is Sort.last else "↕ Best score",
                   ListCb(p=1, f=query.filter.value, s=other.value, t=here.t).pack()))
    return kb.as_markup()


SHELF_LABEL = {Filter.spam: "🚫 Spam", Filter.archived: "🗄 Archived"}


def _stage_label(query: ContactQuery, names: Mapping[str, str]) -> str:
    if query.filter is Filter.stage and query.stage:
        return f"✅ 🏁 {names.get(query.stage, query.stage)}"
    if query.filter in SHELF_LABEL:
        return "✅ " + SHELF_LABEL[query.filter]
    return "🏁 Stage"


def stage_menu(names: Mapping[str, str], counts: Mapping[str, int], shelves: Mapping[str, int],
               sort: str) -> InlineKeyboardMarkup:
    """The list's stage filter: one button per stage, then the shelves (spam and archive live only here)."""
    kb = InlineKeyboardBuilder()
    for key, name in names.items():
        kb.add(_button(f"{stage_emoji(key)} {name} · {counts.get(key, 0)}",
                       ListCb(p=1, f=Filter.stage.value, s=sort, t=key).pack()))
    kb.adjust(3)
    kb.row(_button(f"🚫 Spam · {shelves.get('spam', 0)}", ListCb(p=1, f=Filter.spam.value, s=sort).pack()),
           _button(f"🗄 Archived · {shelves.get('archived', 0)}", ListCb(p=1, f=Filter.archived.value, s=sort).pack()))
    kb.row(_button("✖️ No stage filter", ListCb(p=1, s=sort).pack()))
    return kb.as_markup()


def _filter_button(f: Filter, label: str, query: ContactQuery) -> InlineKeyboardButton:
    active = query.filter is f
    target = Filter.all if active else f  # pressing the active filter clears it
    return _button(("✅ " if active else "") + label, ListCb(p=1, f=target.value, s=query.sort.value).pack())


def tag_picker(tags: Sequence[str], page: int, sort: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    start = (page - 1) * TAG_PICKER_PAGE
    for tag in tags[start:start + TAG_PICKER_PAGE]:
        kb.add(_button(f"🏷 {tag}", ListCb(p=1, f=Filter.tag.value, s=sort, t=tag_key(tag)).pack()))
    kb.adjust(3)
    nav = []
    if page > 1:
        nav.append(_button("‹", TagMenuCb(p=page - 1, s=sort).pack()))
    if start + TAG_PICKER_PAGE < len(tags):
        nav.append(_button("›", TagMenuCb(p=page + 1, s=sort).pack()))
    if nav:
        kb.row(*nav)
    kb.row(_button("✖️ No tag filter", ListCb(p=1, s=sort).pack()))
    return kb.as_markup()


SHELF_V = {None: 0, "spam": 1, "archived": 2}


_IG_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")


def instagram_url(username: str | None) -> str | None:
    """The thread in the Instagram app (for media, voice, anything Leadgram cannot send)."""
    return f"https://ig.me/m/{username}" if username and _IG_USERNAME.match(username) else None


def open_in_instagram(contact: Contact) -> InlineKeyboardButton | None:
    url = instagram_url(contact.username)
    return InlineKeyboardButton(text="📲 Open in Instagram", url=url) if url else None


def card_keyboard(contact: Contact, back: ListCb, names: Mapping[str, str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.add(_button("💬 Chat", contact_cb("chat", contact.id, back).pack()),
           _button("🏷 Tags", contact_cb("tags", contact.id, back).pack()),
           _button("🎯 Score", contact_cb("score", contact.id, back).pack()))
    if contact.shelf is None:  # shelved leads are out of scoring
        kb.add(_button("♻️ Rescore", contact_cb("rescore", contact.id, back).pack()))
    kb.add(_button(f"📝 Notes ({contact.note_count})" if contact.note_count else "📝 Notes",
                   contact_cb("notes", contact.id, back).pack()))
    kb.add(_button("⏰ Remind me", contact_cb("remind", contact.id, back).pack()))
    kb.adjust(2, 2, 2)
    kb.row(*_stage_buttons(contact, back, names))
    kb.row(*_shelf_buttons(contact, back))
    kb.row(_button("✍️ Reply", contact_cb("reply", contact.id, back).pack()),
           _button("🤖 Draft", contact_cb("aidraft", contact.id, back).pack()),
           _button("💾 Saved", contact_cb("saved", contact.id, back).pack()))
    if (ig := open_in_instagram(contact)) is not None:
        kb.row(ig)
    kb.row(_button(f"‹ Back to list (page {back.p})", back.pack()))
    return kb.as_markup()


def draft_keyboard(reply: Reply, contact: Contact, can_send: bool) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    if reply.status == "draft":
        if can_send:
            kb.add(_button("📤 Send", ReplyCb(a="send", id=reply.id).pack()))
        kb.add(_button("✏️ Edit", ReplyCb(a="edit", id=reply.id).pack()),
               _button("✖️ Cancel", ReplyCb(a="cancel", id=reply.id).pack()))
    elif reply.status == "sent":
        kb.add(_button("💬 Chat", contact_cb("chat", contact.id, ListCb()).pack()))
    if (ig := open_in_instagram(contact)) is not None:
        kb.row(ig)
    markup = kb.as_markup()
    return markup if markup.inline_keyboard else None


def saved_picker(contact: Contact, saved: Sequence[SavedReply], back: ListCb) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item in saved:
        kb.add(_button(f"💾 {clip(item.text, 36)}", contact_cb("usesaved", contact.id, back, v=item.id).pack()))
    kb.adjust(1)
    kb.row(_button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def saved_keyboard(saved: Sequence[SavedReply]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for n, item in enumerate(saved, 1):
        kb.row(_button(f"✏️ {n}", SavedCb(a="edit", id=item.id).pack()),
               _button(f"🗑 {n}", SavedCb(a="del", id=item.id).pack()))
    kb.row(_button("➕ Add", SavedCb(a="add").pack()))
    return kb.as_markup()


def _stage_buttons(contact: Contact, back: ListCb, names: Mapping[str, str]) -> list[InlineKeyboardButton]:
    """The stage (opens the picker) and the one-tap move: the next stage, or reopen a closed lead."""
    stage = contact.stage if contact.stage in names else "new"
    buttons = [_button(f"🏁 {names[stage]} ▾", contact_cb("stages", contact.id, back).pack())]
    step = next_stage(names, stage)
    label = f"↺ Reopen: {names[step]}" if stage in CLOSED_STAGES else f"➡️ {names[step]}"
    buttons.append(_button(label, contact_cb("stg", contact.id, back, v=stage_code(step)).pack()))
    return buttons


def _shelf_buttons(contact: Contact, back: ListCb) -> list[InlineKeyboardButton]:
    """Spam / archive, and the undo in the same place once shelved (or a spam suggestion dismissed)."""
    def to(shelf: str | None, label: str) -> InlineKeyboardButton:
        return _button(label, contact_cb("shelf", contact.id, back, v=SHELF_V[shelf]).pack())

    if contact.shelf == "spam":
        return [to(None, "↩️ Not spam: back to list")]
    if contact.shelf == "archived":
        return [to(None, "📤 Unarchive")]
    if contact.spam_suggested:
        return [to("spam", "🚫 Spam (suggested)"), to(None, "✅ Not spam")]
    return [to("spam", "🚫 Spam"), to("archived", "🗄 Archive")]


def stage_keyboard(contact: Contact, back: ListCb, names: Mapping[str, str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for key, name in names.items():  # v: the stage's code, which stays when stages are added or removed
        mark = "✅ " if contact.stage == key else ""
        kb.add(_button(f"{mark}{stage_emoji(key)} {name}",
                       contact_cb("stg", contact.id, back, v=stage_code(key)).pack()))
    kb.adjust(3)
    if contact.stage_source == "manual":
        kb.row(_button("↩️ Back to AI", contact_cb("aistage", contact.id, back).pack()))
    kb.row(_button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def stages_settings_keyboard(names: Mapping[str, str], can_add: bool) -> InlineKeyboardMarkup:
    """/stages: ✏️ each stage, 🗑 beside the creator's own ones, ➕ while there is room."""
    kb = InlineKeyboardBuilder()
    for key, name in names.items():
        rename = _button(f"✏️ {stage_emoji(key)} {name}", StageCb(a="ren", k=stage_code(key)).pack())
        kb.row(rename, *([] if key in STAGE_KEYS else [_button("🗑", StageCb(a="del", k=stage_code(key)).pack())]))
    if can_add:
        kb.row(_button("➕ Add a stage", StageCb(a="new").pack()))
    return kb.as_markup()


def stage_places_keyboard(names: Mapping[str, str]) -> InlineKeyboardMarkup:
    """➕: after which open stage the new one goes (never after won or lost)."""
    kb = InlineKeyboardBuilder()
    for key, name in names.items():
        if key not in CLOSED_STAGES:
            kb.add(_button(f"after {stage_emoji(key)} {name}", StageCb(a="after", k=stage_code(key)).pack()))
    kb.adjust(2)
    kb.row(_button("‹ Back", StageCb(a="list").pack()))
    return kb.as_markup()


def stage_removal_keyboard(key: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button("🗑 Remove", StageCb(a="delok", k=stage_code(key)).pack()),
                                                  _button("✖️ Keep it", StageCb(a="list").pack())]])


def chat_keyboard(contact: Contact, back: ListCb, page: int, pages: int) -> InlineKeyboardMarkup:
    """Page 1 is the newest messages; ‹ older goes to higher pages."""
    kb = InlineKeyboardBuilder()
    nav = []
    if page < pages:
        nav.append(_button("‹ Older", contact_cb("chat", contact.id, back, v=page + 1).pack()))
    if page > 1:
        nav.append(_button("Newer ›", contact_cb("chat", contact.id, back, v=page - 1).pack()))
    if nav:
        kb.row(*nav)
    kb.row(_button("✍️ Reply", contact_cb("reply", contact.id, back).pack()),
           _button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    if (ig := open_in_instagram(contact)) is not None:
        kb.row(ig)
    return kb.as_markup()


def tags_keyboard(contact: Contact, all_tags: Sequence[str], back: ListCb) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for tag in all_tags:
        mark = "✅ " if tag in (contact.tags or []) else ""
        kb.add(_button(f"{mark}{tag}", contact_cb("tog", contact.id, back, tag=tag_key(tag)).pack()))
    kb.adjust(3)
    if contact.tags_source == "manual":
        kb.row(_button("↩️ Back to AI tags", contact_cb("aitags", contact.id, back).pack()))
    kb.row(_button("➕ New tag", contact_cb("newtag", contact.id, back).pack()),
           _button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def score_keyboard(contact: Contact, back: ListCb) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value in SCORE_PRESETS:
        mark = "✅ " if contact.lead_score == value and contact.score_source == "manual" else ""
        kb.add(_button(f"{mark}{value}", contact_cb("set", contact.id, back, v=value).pack()))
    kb.adjust(3, 3)
    if contact.score_source == "manual":
        kb.row(_button("↩️ Back to AI score", contact_cb("aiscore", contact.id, back).pack()))
    kb.row(_button("⌨️ Type a number", contact_cb("typed", contact.id, back).pack()),
           _button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def rescore_all_keyboard(count: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(f"♻️ Rescore everyone ({count})",
                                                          RunCb(a="all", id=count).pack())]])


def rescore_all_confirm_keyboard(count: int) -> InlineKeyboardMarkup:
    yes = _button(f"✅ Yes, rescore {count}", RunCb(a="allok", id=count).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[yes, _button("Cancel", RunCb(a="no", id=0).pack())]])


def summary_keyboard(run_id: int, failed: int, hot: Sequence[Contact],
                     hot_found: int = 0) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    home = ListCb(p=1, f=Filter.hot.value, s=Sort.score.value)
    for contact in hot:
        name = display_name(contact.name, contact.username, 20)
        kb.add(_button(f"🔥 {name} · {contact.lead_score}", contact_cb("card", contact.id, home).pack()))
    kb.adjust(2)
    if hot_found > len(hot):  # the summary names the best few: every other one is one tap away
        kb.row(_button(f"🔥 All hot leads ({hot_found})", home.pack()))
    if failed:
        kb.row(_button(f"🔁 Retry {failed} failed", RunCb(a="retry", id=run_id).pack()))
    markup = kb.as_markup()
    return markup if markup.inline_keyboard else None


def onboarding_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.add(_button("🎬 Try the demo account", StartCb(a="demo").pack()),
           _button("🔗 Connect my Instagram", StartCb(a="connect").pack()))
    kb.adjust(1)
    return kb.as_markup()


def settings_keyboard(user: User) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.add(_button("✏️ Niche", SetCb(a="niche").pack()), _button("✏️ Goal", SetCb(a="goal").pack()),
           _button("🌍 Timezone", SetCb(a="tz").pack()),
           _button("🔔 Alerts: on" if user.alerts_enabled else "🔕 Alerts: off", SetCb(a="alerts").pack()),
           _button("🔗 Link", SetCb(a="link").pack()))
    kb.adjust(2, 2, 1)
    kb.row(*(_button(("✅ " if user.window_push_hours == h else "") + (f"⏳ {h} h" if h else "⏳ off"),
                     SetCb(a="win", v=h).pack()) for h in (*WINDOW_PUSH_HOURS, WINDOW_PUSH_OFF)))
    kb.row(*(_button(("✅ " if user.alert_threshold == t else "") + f"≥ {t}", SetCb(a="thr", v=t).pack())
             for t in HOT_THRESHOLDS))
    return kb.as_markup()


def notes_keyboard(contact: Contact, back: ListCb, notes: Sequence[Note], first: int, page: int,
                   pages: int) -> InlineKeyboardMarkup:
    """Each note on the page gets ✏️ and 🗑 (numbered as on screen); paging; ➕ add; back to the card."""
    kb = InlineKeyboardBuilder()
    for n, note in enumerate(notes, first):
        kb.row(_button(f"✏️ {n}", contact_cb("nedit", contact.id, back, v=note.id).pack()),
               _button(f"🗑 {n}", contact_cb("ndel", contact.id, back, v=note.id).pack()))
    nav = []
    if page > 1:
        nav.append(_button("‹ Newer", contact_cb("notes", contact.id, back, v=page - 1).pack()))
    if page < pages:
        nav.append(_button("Older ›", contact_cb("notes", contact.id, back, v=page + 1).pack()))
    if nav:
        kb.row(*nav)
    kb.row(_button("➕ Add note", contact_cb("nadd", contact.id, back).pack()),
           _button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def note_delete_keyboard(contact: Contact, back: ListCb, note_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(_button("🗑 Yes, delete it", contact_cb("ndelok", contact.id, back, v=note_id).pack()),
           _button("Keep it", contact_cb("notes", contact.id, back).pack()))
    return kb.as_markup()


def delete_confirm() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.add(_button("🗑 Yes, delete everything", AccountCb(a="delete").pack()),
           _button("Keep my data", AccountCb(a="keep").pack()))
    kb.adjust(1)
    return kb.as_markup()


def demo_confirm(account: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.add(_button("🎬 Replace it with the demo", StartCb(a="demo_ok").pack()),
           _button(f"Keep {clip(account, 40)}", StartCb(a="demo_no").pack()))
    kb.adjust(1)
    return kb.as_markup()


# ---------------------------------------------------------------- ⏰ reminders

REMIND_LABELS = {"1h": "In 1 hour", "evening": f"This evening {EVENING_HOUR}:00",
                 "tomorrow": f"Tomorrow {MORNING_HOUR}:00", "3d": "In 3 days"}
SNOOZE_LABELS = {"1h": "⏰ +1 hour", "tomorrow": f"⏰ Tomorrow {MORNING_HOUR}:00"}


def remind_keyboard(contact: Contact, back: ListCb) -> InlineKeyboardMarkup:
    """The card's ⏰ choices (core.rules.REMINDER_PRESETS by index) and a typed time."""
    kb = InlineKeyboardBuilder()
    for n, key in enumerate(REMINDER_PRESETS):
        kb.add(_button(f"⏰ {REMIND_LABELS[key]}", contact_cb("rset", contact.id, back, v=n).pack()))
    kb.adjust(2)
    kb.row(_button("⌨️ Type a time", contact_cb("rtype", contact.id, back).pack()))
    kb.row(_button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def reminder_push_keyboard(reminder_id: int, card: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup:
    """A pushed reminder: snooze and done first, then the lead's card buttons."""
    snooze = [_button(SNOOZE_LABELS[key], ReminderCb(a="snz", id=reminder_id, v=n).pack())
              for n, key in enumerate(SNOOZE_PRESETS)]
    done = [_button("✅ Done", ReminderCb(a="done", id=reminder_id).pack())]
    return InlineKeyboardMarkup(inline_keyboard=[snooze, done, *(card.inline_keyboard if card else [])])


def reminders_keyboard(ids: Sequence[int], first: int, page: int, pages: int) -> InlineKeyboardMarkup:
    """/reminders: per reminder ✅ done, ⏰ one hour later (from its time), ✖️ cancel; numbered like the text."""
    kb = InlineKeyboardBuilder()
    for n, reminder_id in enumerate(ids, first):
        kb.row(_button(f"✅ {n}", ReminderCb(a="done", id=reminder_id, p=page).pack()),
               _button(f"⏰ {n}", ReminderCb(a="snz", id=reminder_id, p=page).pack()),
               _button(f"✖️ {n}", ReminderCb(a="cancel", id=reminder_id, p=page).pack()))
    pager = []
    if page > 1:
        pager.append(_button("‹ Prev", ReminderCb(a="page", v=page - 1, p=page).pack()))
    if page < pages:
        pager.append(_button("Next ›", ReminderCb(a="page", v=page + 1, p=page).pack()))
    if pager:
        kb.row(*pager)
    return kb.as_markup()


def stats_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button("📈 Chart: this week vs last", StatsCb().pack())]])
