"""Inline keyboards. Button texts are clipped; callback data comes only from bot.callbacks factories."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ContactCb, ListCb, RunCb, SetCb, StartCb, TagMenuCb, tag_key
from core.db.models import Contact, User
from core.db.repo import ContactQuery, Filter, Page, Sort
from core.rules import clip
from core.services.listing import Row

SCORE_PRESETS = (0, 25, 50, 75, 90, 100)
TAG_PICKER_PAGE = 12
THRESHOLDS = (60, 70, 80, 90)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=clip(text, 40), callback_data=data)


def list_cb(page: int, query: ContactQuery) -> ListCb:
    return ListCb(p=page, f=query.filter.value, s=query.sort.value, t=tag_key(query.tag) if query.tag else "")


def contact_cb(action: str, contact_id: int, back: ListCb, v: int = 0, tag: str = "") -> ContactCb:
    return ContactCb(a=action, id=contact_id, p=back.p, f=back.f, s=back.s, t=tag or back.t, v=v)


def back_of(cb: ContactCb) -> ListCb:
    return ListCb(p=cb.p, f=cb.f, s=cb.s, t=cb.t if cb.f == Filter.tag else "")


def list_keyboard(page: Page, rows: Sequence[Row], query: ContactQuery) -> InlineKeyboardMarkup:
    here = list_cb(page.page, query)
    kb = InlineKeyboardBuilder()
    for n, row in enumerate(rows, 1):
        kb.add(_button(f"{n}. {row.emoji} {clip(row.name, 18)} · {row.score}", contact_cb("card", row.contact_id,
                                                                                            here).pack()))
    kb.adjust(2)
    if page.pages > 1:
        kb.row(
            _button("‹", list_cb(page.pages if page.page == 1 else page.page - 1, query).pack()),
            _button(f"page {page.page}/{page.pages}", here.pack()),
            _button("›", list_cb(1 if page.page == page.pages else page.page + 1, query).pack()),
        )
    kb.row(*(_filter_button(f, label, query) for f, label in
             ((Filter.hot, "🔥 Hot"), (Filter.high, "≥ 70"), (Filter.unscored, "∅ Unscored"))))
    tag_label = f"✅ 🏷 {query.tag}" if query.filter is Filter.tag and query.tag else "🏷 By tag"
    other = Sort.last if query.sort is Sort.score else Sort.score
    kb.row(_button(tag_label, TagMenuCb(s=query.sort.value).pack()),
           _button("↕ Newest first" if other is Sort.last else "↕ Best score",
                   ListCb(p=1, f=query.filter.value, s=other.value, t=here.t).pack()))
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


def card_keyboard(contact: Contact, back: ListCb) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.add(_button("💬 Chat", contact_cb("chat", contact.id, back).pack()),
           _button("🏷 Tags", contact_cb("tags", contact.id, back).pack()),
           _button("🎯 Score", contact_cb("score", contact.id, back).pack()),
           _button("♻️ Rescore", contact_cb("rescore", contact.id, back).pack()))
    kb.adjust(2, 2)
    kb.row(_button(f"‹ Back to list (page {back.p})", back.pack()))
    return kb.as_markup()


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
    kb.row(_button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def tags_keyboard(contact: Contact, all_tags: Sequence[str], back: ListCb) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for tag in all_tags:
        mark = "✅ " if tag in (contact.tags or []) else ""
        kb.add(_button(f"{mark}{tag}", contact_cb("tog", contact.id, back, tag=tag_key(tag)).pack()))
    kb.adjust(3)
    kb.row(_button("➕ New tag", contact_cb("newtag", contact.id, back).pack()),
           _button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def score_keyboard(contact: Contact, back: ListCb) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value in SCORE_PRESETS:
        mark = "✅ " if contact.lead_score == value and contact.score_source == "manual" else ""
        kb.add(_button(f"{mark}{value}", contact_cb("set", contact.id, back, v=value).pack()))
    kb.adjust(3, 3)
    kb.row(_button("⌨️ Type a number", contact_cb("typed", contact.id, back).pack()),
           _button("‹ Back to card", contact_cb("card", contact.id, back).pack()))
    return kb.as_markup()


def summary_keyboard(run_id: int, failed: int, hot: Sequence[Contact]) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    home = ListCb(p=1, f=Filter.hot.value, s=Sort.score.value)
    for contact in hot:
        name = clip(contact.name or contact.username or f"#{contact.id}", 20)
        kb.add(_button(f"🔥 {name} · {contact.lead_score}", contact_cb("card", contact.id, home).pack()))
    kb.adjust(2)
    if failed:
        kb.row(_button(f"🔁 Retry {failed} failed", RunCb(a="retry", id=run_id).pack()))
    markup = kb.as_markup()
    return markup if markup.inline_keyboard else None


def hot_keyboard(contacts: Sequence[Contact]) -> InlineKeyboardMarkup:
    home = ListCb(p=1, f=Filter.hot.value, s=Sort.score.value)
    kb = InlineKeyboardBuilder()
    for n, contact in enumerate(contacts, 1):
        name = clip(contact.name or contact.username or f"#{contact.id}", 20)
        kb.add(_button(f"{n}. {name} · {contact.lead_score}", contact_cb("card", contact.id, home).pack()))
    kb.adjust(2)
    return kb.as_markup()


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
           _button("🔔 Alerts: on" if user.alerts_enabled else "🔕 Alerts: off", SetCb(a="alerts").pack()))
    kb.adjust(2, 2)
    kb.row(*(_button(("✅ " if user.alert_threshold == t else "") + f"≥ {t}", SetCb(a="thr", v=t).pack())
             for t in THRESHOLDS))
    return kb.as_markup()
