"""a partial index on unhandled messages: the worker's pick sorted the whole backlog each time

It replaces the index on handled_at, which only that pick used and which the query planners
preferred to the partial index.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_messages_handled_at', table_name='messages')
    op.create_index('ix_messages_pending', 'messages', ['received_at', 'id'],
                    sqlite_where=sa.text('handled_at IS NULL'), postgresql_where=sa.text('handled_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_messages_pending', table_name='messages')
    op.create_index('ix_messages_handled_at', 'messages', ['handled_at'])
