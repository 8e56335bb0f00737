"""cases.owner_id and users.team: who works a case, and whose team it is

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch.create_index('ix_cases_owner_id', ['owner_id'])
        batch.create_foreign_key('fk_cases_owner_id_users', 'users', ['owner_id'], ['id'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('team', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('team')
    with op.batch_alter_table('cases') as batch:
        batch.drop_constraint('fk_cases_owner_id_users', type_='foreignkey')
        batch.drop_index('ix_cases_owner_id')
        batch.drop_column('owner_id')
