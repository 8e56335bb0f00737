"""console_sessions.flash: what an action did, carried to the next page in the session, not the URL

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_sessions') as batch:
        batch.add_column(sa.Column('flash', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('console_sessions') as batch:
        batch.drop_column('flash')
