"""attachments.part: an email's attachment is read from its raw letter, not stored a second time

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attachments') as batch:
        batch.add_column(sa.Column('part', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachments') as batch:
        batch.drop_column('part')
