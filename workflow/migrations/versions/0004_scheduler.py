"""scheduler: staff email, hazard clocks, automatic acknowledgement, update intervals, notices

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email', sa.String(length=320), nullable=True))
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('hazard_due_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('hazard_made_safe_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('hazard_action', sa.Text(), nullable=True))
    with op.batch_alter_table('complaint_stages') as batch:
        batch.add_column(sa.Column('auto_acknowledged', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('update_every_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('next_update_on', sa.Date(), nullable=True))
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_notices_case_id', 'notices', ['case_id'])


def downgrade() -> None:
    op.drop_index('ix_notices_case_id', table_name='notices')
    op.drop_table('notices')
    with op.batch_alter_table('complaint_stages') as batch:
        batch.drop_column('next_update_on')
        batch.drop_column('update_every_days')
        batch.drop_column('auto_acknowledged')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('hazard_action')
        batch.drop_column('hazard_made_safe_at')
        batch.drop_column('hazard_due_at')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('email')
