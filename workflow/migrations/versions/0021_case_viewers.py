"""case_viewers: who has a case's page open in the console, for the second advisor to see;
saved_views: an advisor's own named queues

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_viewers',
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id'), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), primary_key=True),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_case_viewers_seen_at', 'case_viewers', ['seen_at'])
    op.create_table(
        'saved_views',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('user_id', 'name'),
    )


def downgrade() -> None:
    op.drop_table('saved_views')
    op.drop_index('ix_case_viewers_seen_at', table_name='case_viewers')
    op.drop_table('case_viewers')
