"""messages: the same Message-ID with different content is a different message; a failure's reason is kept

A message is now one by its channel, its external id and a digest of its content, so a mailer
that reuses a Message-ID does not lose the second letter as a duplicate. Rows stored before this
have an empty digest and still count as duplicates of anything with their id. A message the bot
could not handle keeps the reason, shown on the console's "needs attention" page; those that
failed before this revision are put there too.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# 0001 left the unique constraint unnamed; these names let batch mode find it on SQLite.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_constraint() -> str:
    return "messages_channel_external_id_key" if op.get_bind().dialect.name == "postgresql" else "uq_messages_channel"


def upgrade() -> None:
    with op.batch_alter_table('messages', naming_convention=_CONVENTION) as batch:
        batch.add_column(sa.Column('content_digest', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('failure', sa.String(length=500), nullable=True))
        batch.drop_constraint(_old_constraint(), type_='unique')
        batch.create_unique_constraint('uq_messages_identity', ['channel', 'external_id', 'content_digest'])
    op.create_index('ix_messages_failed', 'messages', ['received_at', 'id'],
                    sqlite_where=sa.text('failure IS NOT NULL'), postgresql_where=sa.text('failure IS NOT NULL'))
    # Messages that failed before were set aside with an audit row only: bring them in front of people.
    op.execute("UPDATE messages SET failure = 'failed before this version kept reasons (see the audit trail)' "
               "WHERE id IN (SELECT message_id FROM audit_events WHERE action = 'handling_failed') "
               "AND case_id IS NULL")


def downgrade() -> None:
    op.drop_index('ix_messages_failed', table_name='messages')
    with op.batch_alter_table('messages', naming_convention=_CONVENTION) as batch:
        batch.drop_constraint('uq_messages_identity', type_='unique')
        batch.create_unique_constraint('messages_channel_external_id_key', ['channel', 'external_id'])
        batch.drop_column('failure')
        batch.drop_column('content_digest')
