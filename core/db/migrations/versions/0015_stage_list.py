"""users.stage_names becomes the creator's ordered stage list [{key, name}, ...] (own stages among the five,
removed own stages' keys kept as {key, removed: true}); the old {key: name} renames are converted. No schema change.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import core.db.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

STAGE_KEYS = ('new', 'talking', 'offer', 'won', 'lost')  # as of this revision (not imported: rules may move on)
DEFAULTS = {'new': 'new', 'talking': 'talking', 'offer': 'offer sent', 'won': 'won', 'lost': 'lost'}
users = sa.table('users', sa.column('id', sa.Integer), sa.column('stage_names', core.db.types.JSONList))
contacts = sa.table('contacts', sa.column('user_id', sa.Integer), sa.column('stage', sa.String),
                    sa.column('ai_stage', sa.String))


def _rows(bind: sa.Connection) -> list[tuple[int, object]]:
    return [(uid, value) for uid, value in bind.execute(sa.select(users.c.id, users.c.stage_names)
                                                        .where(users.c.stage_names.is_not(None))).all()]


def upgrade() -> None:
    bind = op.get_bind()
    for uid, value in _rows(bind):
        if isinstance(value, dict):
            names = [{'key': k, 'name': str(value.get(k) or DEFAULTS[k])} for k in STAGE_KEYS]
            bind.execute(users.update().where(users.c.id == uid).values(stage_names=names))


def downgrade() -> None:
    # Back to {key: name} for the five; leads in an own stage go to the built-in stage before it.
    bind = op.get_bind()
    for uid, value in _rows(bind):
        if not isinstance(value, list):
            continue
        live = [i for i in value if isinstance(i, dict) and not i.get('removed') and i.get('key')]
        last_built_in = 'new'
        for item in live:
            if item['key'] in STAGE_KEYS:
                last_built_in = item['key']
            else:
                bind.execute(contacts.update().where(contacts.c.user_id == uid, contacts.c.stage == item['key'])
                             .values(stage=last_built_in))
        names = {i['key']: str(i.get('name') or '') for i in live if i['key'] in STAGE_KEYS}
        bind.execute(users.update().where(users.c.id == uid).values(stage_names=names))
