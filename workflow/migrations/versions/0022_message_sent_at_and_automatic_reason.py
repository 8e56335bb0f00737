"""messages.sent_at: what the sender's clock said (an email's Date), kept and shown, never used for a
deadline; messages.automatic_reason: why a message was taken as automatic (RFC 3834), so a person
can see why it was not answered. Both were parsed and then dropped before.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('automatic_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('automatic_reason')
        batch.drop_column('sent_at')
