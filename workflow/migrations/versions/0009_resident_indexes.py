"""indexes on the resident of messages and cases: the flood check and a resident's cases were full scans

Revision ID: 0009
Revises: 0008
"""

from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_messages_resident_id', 'messages', ['resident_id'])
    op.create_index('ix_cases_resident_id', 'cases', ['resident_id'])


def downgrade() -> None:
    op.drop_index('ix_cases_resident_id', table_name='cases')
    op.drop_index('ix_messages_resident_id', table_name='messages')
