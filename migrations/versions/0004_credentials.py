"""Credentials: OAuth clients, OAuth credentials, ownership transfers, and the mail outbox.

Revision ID: 0004
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oauth_clients',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('authorization_endpoint', sa.String(length=2000), nullable=False),
    sa.Column('token_endpoint', sa.String(length=2000), nullable=False),
    sa.Column('revocation_endpoint', sa.String(length=2000), nullable=True),
    sa.Column('client_id', sa.String(length=500), nullable=False),
    sa.Column('client_secret_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('scopes', sa.String(length=1000), server_default='', nullable=False),
    sa.Column('token_auth_method', sa.String(length=32), server_default='client_secret_basic', nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_clients')),
    sa.UniqueConstraint('name', name=op.f('uq_oauth_clients_name'))
    )
    op.create_table('credential_transfers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('from_user_id', sa.Uuid(), nullable=False),
    sa.Column('to_user_id', sa.Uuid(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_credential_transfers_credential_id_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_credential_transfers_from_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_credential_transfers_to_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_transfers')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_credential_transfers_token_digest'))
    )
    op.create_index(op.f('ix_credential_transfers_credential_id'), 'credential_transfers', ['credential_id'], unique=False)
    op.create_table('mail_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'sent', 'outbox', 'failed', name='mail_status', native_enum=False, create_constraint=True, length=32), server_default='queued', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages'))
    )
    op.create_index(op.f('ix_mail_messages_inserted_at'), 'mail_messages', ['inserted_at'], unique=False)
    # Batch mode, so SQLite (the demo database) can add the foreign key too.
    with op.batch_alter_table('credentials') as batch:
        batch.add_column(sa.Column('oauth_client_id', sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_credentials_oauth_client_id_oauth_clients'), 'oauth_clients',
            ['oauth_client_id'], ['id'], ondelete='RESTRICT',
        )


def downgrade():
    with op.batch_alter_table('credentials') as batch:
        batch.drop_constraint(op.f('fk_credentials_oauth_client_id_oauth_clients'), type_='foreignkey')
        batch.drop_column('oauth_client_id')
    op.drop_index(op.f('ix_mail_messages_inserted_at'), table_name='mail_messages')
    op.drop_table('mail_messages')
    op.drop_index(op.f('ix_credential_transfers_credential_id'), table_name='credential_transfers')
    op.drop_table('credential_transfers')
    op.drop_table('oauth_clients')
