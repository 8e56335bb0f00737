"""adjustments as choices: adjustments.kind and .detail beside the words, cases.adjustments_asked; every
letter reads the resident's adjustments, so they are indexed by resident

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('adjustments') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='other'))
        batch.add_column(sa.Column('detail', sa.Text(), nullable=True))
        batch.add_column(sa.Column('words', sa.Text(), nullable=True))
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('adjustments_asked', sa.JSON(), nullable=True))
    op.create_index('ix_adjustments_resident_id', 'adjustments', ['resident_id'])


def downgrade() -> None:
    op.drop_index('ix_adjustments_resident_id', table_name='adjustments')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('adjustments_asked')
    with op.batch_alter_table('adjustments') as batch:
        batch.drop_column('words')
        batch.drop_column('detail')
        batch.drop_column('kind')
