"""automatic_replies: the bot's own replies by mailbox, for flood and loop limits

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'automatic_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('mailbox', sa.String(length=320), nullable=False),
        sa.Column('domain', sa.String(length=255), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('letter', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_automatic_replies_at', 'automatic_replies', ['at'])
    op.create_index('ix_automatic_replies_mailbox', 'automatic_replies', ['mailbox', 'at'])
    op.create_index('ix_automatic_replies_domain', 'automatic_replies', ['domain', 'at'])
    op.create_index('ix_automatic_replies_case', 'automatic_replies', ['case_id', 'at'])


def downgrade() -> None:
    op.drop_table('automatic_replies')
