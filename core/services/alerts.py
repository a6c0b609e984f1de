"""Hot-lead transitions: the one rule for when a contact becomes (or stops being) hot.

Called inside the transaction that writes a score, so the transition and its alert row commit together:
a job that runs twice finds `is_hot` already set and records nothing the second time.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Alert, Contact, User
from core.rules import is_hot
from core.timeutil import utcnow


async def on_scored(session: AsyncSession, user: User, contact: Contact) -> bool:
    """Update the contact's hot state; insert one pending alert on a cold->hot transition.

    Returns True when this call made the contact hot.
    """
    hot = is_hot(contact.sentiment, contact.lead_score, user.alert_threshold)
    if hot == contact.is_hot:
        return False
    contact.is_hot = hot
    if not hot:
        return False
    contact.hot_episode += 1
    session.add(Alert(user_id=user.id, contact_id=contact.id, episode=contact.hot_episode,
                      status="pending", created_at=utcnow()))
    return True
