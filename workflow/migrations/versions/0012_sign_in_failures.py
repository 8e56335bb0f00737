"""sign-in failures: the console's throttle counts wrong passwords here, shared by every web process

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sign_in_failures_at', 'sign_in_failures', ['at'])
    op.create_index('ix_sign_in_failures_subject_at', 'sign_in_failures', ['subject', 'at'])


def downgrade() -> None:
    op.drop_index('ix_sign_in_failures_subject_at', table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_at', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
