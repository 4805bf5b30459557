"""Electronic data capture: form records, queries and their history, signatures,
source-data verification flags and database locks.

Query messages are a history: like the audit trail, triggers refuse their UPDATE and
DELETE (and TRUNCATE on PostgreSQL). The application role's rights on the new tables come
from ``oncotrial db upgrade --app-role`` as for every table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: the append-only history tables
_HISTORY = ("query_messages",)


def upgrade() -> None:
    op.create_table('database_locks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('cutoff', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('export_sha256', sa.String(length=64), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=64), nullable=False),
    sa.Column('unlocked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unlocked_by', sa.String(length=64), nullable=True),
    sa.Column('unlock_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_database_locks_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_database_locks'))
    )
    op.create_index(op.f('ix_database_locks_trial_id'), 'database_locks', ['trial_id'], unique=False)
    op.create_table('form_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=64), nullable=False),
    sa.Column('repeat_key', sa.String(length=64), nullable=False),
    sa.Column('data_json', sa.Text(), nullable=False),
    sa.Column('response_json', sa.Text(), nullable=True),
    sa.Column('record_date', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lock_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_form_records_created_by_users')),
    sa.ForeignKeyConstraint(['lock_id'], ['database_locks.id'], name=op.f('fk_form_records_lock_id_database_locks')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_form_records_subject_id_subjects')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_form_records_trial_id_trials')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_form_records_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_records')),
    sa.UniqueConstraint('subject_id', 'form', 'repeat_key', name=op.f('uq_form_records_subject_id_form_repeat_key'))
    )
    op.create_index(op.f('ix_form_records_trial_id'), 'form_records', ['trial_id'], unique=False)
    op.create_table('signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('signer_name', sa.Text(), nullable=False),
    sa.Column('meaning', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('casebook_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_signatures_subject_id_subjects')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_signatures_trial_id_trials')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signatures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures'))
    )
    op.create_index(op.f('ix_signatures_subject_id'), 'signatures', ['subject_id'], unique=False)
    op.create_index(op.f('ix_signatures_trial_id'), 'signatures', ['trial_id'], unique=False)
    op.create_table('data_queries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raised_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['raised_by'], ['users.id'], name=op.f('fk_data_queries_raised_by_users')),
    sa.ForeignKeyConstraint(['record_id'], ['form_records.id'], name=op.f('fk_data_queries_record_id_form_records')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_data_queries_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_queries'))
    )
    op.create_index(op.f('ix_data_queries_record_id'), 'data_queries', ['record_id'], unique=False)
    op.create_index(op.f('ix_data_queries_trial_id'), 'data_queries', ['trial_id'], unique=False)
    op.create_table('sdv_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('verified_by', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['form_records.id'], name=op.f('fk_sdv_flags_record_id_form_records')),
    sa.ForeignKeyConstraint(['verified_by'], ['users.id'], name=op.f('fk_sdv_flags_verified_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sdv_flags')),
    sa.UniqueConstraint('record_id', 'version', name=op.f('uq_sdv_flags_record_id_version'))
    )
    op.create_index(op.f('ix_sdv_flags_record_id'), 'sdv_flags', ['record_id'], unique=False)
    op.create_table('query_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['query_id'], ['data_queries.id'], name=op.f('fk_query_messages_query_id_data_queries')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_query_messages_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_messages'))
    )
    op.create_index(op.f('ix_query_messages_query_id'), 'query_messages', ['query_id'], unique=False)
    for table in _HISTORY:
        _append_only(table)


def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"))
        op.execute(sa.text(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"))
        op.execute(sa.text(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"))
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(sa.text(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {event} refused'); END"))


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(f"DROP TRIGGER {table}_no_truncate ON {table}"))
        op.execute(sa.text(f"DROP TRIGGER {table}_no_change ON {table}"))
        op.execute(sa.text(f"DROP FUNCTION {table}_append_only()"))
    else:
        op.execute(sa.text(f"DROP TRIGGER {table}_no_update"))
        op.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))


def downgrade() -> None:
    for table in _HISTORY:
        _drop_append_only(table)
    op.drop_index(op.f('ix_query_messages_query_id'), table_name='query_messages')
    op.drop_table('query_messages')
    op.drop_index(op.f('ix_sdv_flags_record_id'), table_name='sdv_flags')
    op.drop_table('sdv_flags')
    op.drop_index(op.f('ix_data_queries_trial_id'), table_name='data_queries')
    op.drop_index(op.f('ix_data_queries_record_id'), table_name='data_queries')
    op.drop_table('data_queries')
    op.drop_index(op.f('ix_signatures_trial_id'), table_name='signatures')
    op.drop_index(op.f('ix_signatures_subject_id'), table_name='signatures')
    op.drop_table('signatures')
    op.drop_index(op.f('ix_form_records_trial_id'), table_name='form_records')
    op.drop_table('form_records')
    op.drop_index(op.f('ix_database_locks_trial_id'), table_name='database_locks')
    op.drop_table('database_locks')
