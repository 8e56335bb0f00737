"""learning from complaints, service improvements, the Ombudsman's findings, review records, blocks,
and the self-assessment's entries kept year to year

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'complaint_learning',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('stage_number', sa.Integer(), nullable=False),
        sa.Column('theme', sa.String(length=40), nullable=True),
        sa.Column('team', sa.String(length=80), nullable=True),
        sa.Column('causes', sa.JSON(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('recorded_by', sa.String(length=120), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'stage_number'),
    )
    op.create_table(
        'improvements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=20), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('team', sa.String(length=80), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('evidence', sa.Text(), nullable=True),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('reference'),
    )
    op.create_index('ix_improvements_owner_id', 'improvements', ['owner_id'])
    op.create_index('ix_improvements_status', 'improvements', ['status'])
    op.create_table(
        'improvement_complaints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('improvement_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('linked_by', sa.String(length=120), nullable=False),
        sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['improvement_id'], ['improvements.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('improvement_id', 'case_id'),
    )
    op.create_index('ix_improvement_complaints_case_id', 'improvement_complaints', ['case_id'])
    op.create_table(
        'ombudsman_findings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ombudsman_reference', sa.String(length=40), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('decided_on', sa.Date(), nullable=False),
        sa.Column('finding', sa.String(length=40), nullable=False),
        sa.Column('provisions', sa.JSON(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('orders', sa.Text(), nullable=True),
        sa.Column('recorded_by', sa.String(length=120), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ombudsman_findings_case_id', 'ombudsman_findings', ['case_id'])
    op.create_index('ix_ombudsman_findings_decided_on', 'ombudsman_findings', ['decided_on'])
    op.create_table(
        'self_assessment_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('provision', sa.String(length=10), nullable=False),
        sa.Column('comply', sa.String(length=3), nullable=True),
        sa.Column('evidence', sa.Text(), nullable=True),
        sa.Column('commentary', sa.Text(), nullable=True),
        sa.Column('updated_by', sa.String(length=120), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('year', 'provision'),
    )
    op.create_table(
        'record_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record', sa.String(length=20), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('reviewed_on', sa.Date(), nullable=False),
        sa.Column('next_review_on', sa.Date(), nullable=True),
        sa.Column('reviewed_by', sa.String(length=120), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_record_reviews_record', 'record_reviews', ['record', 'record_id'])
    op.create_table(
        'case_blocks',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('block', sa.String(length=200), nullable=False),
        sa.Column('recorded_by', sa.String(length=120), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('case_id'),
    )
    op.create_index('ix_case_blocks_block', 'case_blocks', ['block'])


def downgrade() -> None:
    op.drop_index('ix_case_blocks_block', table_name='case_blocks')
    op.drop_table('case_blocks')
    op.drop_index('ix_record_reviews_record', table_name='record_reviews')
    op.drop_table('record_reviews')
    op.drop_table('self_assessment_entries')
    op.drop_index('ix_ombudsman_findings_decided_on', table_name='ombudsman_findings')
    op.drop_index('ix_ombudsman_findings_case_id', table_name='ombudsman_findings')
    op.drop_table('ombudsman_findings')
    op.drop_index('ix_improvement_complaints_case_id', table_name='improvement_complaints')
    op.drop_table('improvement_complaints')
    op.drop_index('ix_improvements_status', table_name='improvements')
    op.drop_index('ix_improvements_owner_id', table_name='improvements')
    op.drop_table('improvements')
    op.drop_table('complaint_learning')
