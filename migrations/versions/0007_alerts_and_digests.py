"""Alerts and digests: per-workflow alert choices, the alert log, rate-limit windows,
digests sent; projects' alert limits and HTTP channel; members' digest hour and change
notices; users' time zones; HTML bodies of mail.

Adds tables and defaulted columns only; the one data change is that viewers and editors
get the new default of failure alerts off (see below).

Revision ID: 0007
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_windows',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('suppressed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_suppressed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_suppressed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('summarised_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_alert_windows_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_windows')),
    sa.UniqueConstraint('workflow_id', 'recipient', name=op.f('uq_alert_windows_workflow_id_recipient'))
    )
    op.create_index(op.f('ix_alert_windows_ends_at'), 'alert_windows', ['ends_at'], unique=False)
    op.create_table('digest_sends',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('period_key', sa.String(length=40), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['project_members.id'], name=op.f('fk_digest_sends_member_id_project_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sends')),
    sa.UniqueConstraint('member_id', 'period_key', name=op.f('uq_digest_sends_member_id_period_key'))
    )
    op.create_table('workflow_alert_choices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['project_members.id'], name=op.f('fk_workflow_alert_choices_member_id_project_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_workflow_alert_choices_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_alert_choices')),
    sa.UniqueConstraint('member_id', 'workflow_id', name=op.f('uq_workflow_alert_choices_member_id_workflow_id'))
    )
    op.create_index(op.f('ix_workflow_alert_choices_workflow_id'), 'workflow_alert_choices', ['workflow_id'], unique=False)
    op.create_table('alert_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=True),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('mail_message_id', sa.Uuid(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['mail_message_id'], ['mail_messages.id'], name=op.f('fk_alert_log_mail_message_id_mail_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_alert_log_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_alert_log_run_id_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_alert_log_workflow_id_workflows'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_log'))
    )
    op.create_index(op.f('ix_alert_log_project_id_inserted_at'), 'alert_log', ['project_id', 'inserted_at'], unique=False)
    op.create_index(op.f('ix_alert_log_run_id'), 'alert_log', ['run_id'], unique=False)
    with op.batch_alter_table('mail_messages') as batch:
        batch.add_column(sa.Column('html', sa.Text(), nullable=True))
        batch.add_column(sa.Column('unsubscribe_url', sa.String(length=2000), nullable=True))
    with op.batch_alter_table('project_members') as batch:
        batch.add_column(sa.Column('digest_hour', sa.Integer(), server_default='7', nullable=False))
        batch.add_column(sa.Column('workflow_change_notices', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch.create_check_constraint(op.f('ck_project_members_digest_hour_range'), 'digest_hour >= 0 AND digest_hour < 24')
    with op.batch_alter_table('projects') as batch:
        batch.add_column(sa.Column('alert_limit_count', sa.Integer(), server_default='3', nullable=False))
        batch.add_column(sa.Column('alert_limit_minutes', sa.Integer(), server_default='5', nullable=False))
        batch.add_column(sa.Column('alert_include_logs', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch.add_column(sa.Column('alert_webhook_url', sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column('alert_webhook_secret_encrypted', sa.LargeBinary(), nullable=True))
        batch.create_check_constraint(op.f('ck_projects_alert_limit_positive'), 'alert_limit_count > 0 AND alert_limit_minutes > 0')
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))
    # Failure alerts now default to on for admins and owners only. Nobody could choose before
    # this revision (there was no page for it), so viewers and editors get the new default.
    op.execute("UPDATE project_members SET failure_alerts = false WHERE role IN ('viewer', 'editor')")


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('time_zone')
    with op.batch_alter_table('projects') as batch:
        batch.drop_constraint(op.f('ck_projects_alert_limit_positive'), type_='check')
        batch.drop_column('alert_webhook_secret_encrypted')
        batch.drop_column('alert_webhook_url')
        batch.drop_column('alert_include_logs')
        batch.drop_column('alert_limit_minutes')
        batch.drop_column('alert_limit_count')
    with op.batch_alter_table('project_members') as batch:
        batch.drop_constraint(op.f('ck_project_members_digest_hour_range'), type_='check')
        batch.drop_column('workflow_change_notices')
        batch.drop_column('digest_hour')
    with op.batch_alter_table('mail_messages') as batch:
        batch.drop_column('unsubscribe_url')
        batch.drop_column('html')
    op.drop_index(op.f('ix_alert_log_run_id'), table_name='alert_log')
    op.drop_index(op.f('ix_alert_log_project_id_inserted_at'), table_name='alert_log')
    op.drop_table('alert_log')
    op.drop_index(op.f('ix_workflow_alert_choices_workflow_id'), table_name='workflow_alert_choices')
    op.drop_table('workflow_alert_choices')
    op.drop_table('digest_sends')
    op.drop_index(op.f('ix_alert_windows_ends_at'), table_name='alert_windows')
    op.drop_table('alert_windows')
