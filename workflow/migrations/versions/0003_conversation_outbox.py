"""conversation state, restriction modes and the outbox

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('new_text', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('options', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('quiet', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_messages_handled_at', ['handled_at'])
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('awaiting', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('adjustments_requested', sa.Text(), nullable=True))
    with op.batch_alter_table('contact_restrictions') as batch:
        batch.add_column(sa.Column('mode', sa.String(length=30), nullable=False, server_default='named_contact'))
        batch.add_column(sa.Column('contact', sa.Text(), nullable=True))
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_outbox_status', 'outbox', ['status'])
    op.create_index('ix_outbox_next_attempt_at', 'outbox', ['next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_next_attempt_at', table_name='outbox')
    op.drop_index('ix_outbox_status', table_name='outbox')
    op.drop_table('outbox')
    with op.batch_alter_table('contact_restrictions') as batch:
        batch.drop_column('contact')
        batch.drop_column('mode')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('adjustments_requested')
        batch.drop_column('awaiting')
    with op.batch_alter_table('messages') as batch:
        batch.drop_index('ix_messages_handled_at')
        batch.drop_column('handled_at')
        batch.drop_column('quiet')
        batch.drop_column('options')
        batch.drop_column('new_text')
