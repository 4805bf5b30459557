"""The initial schema.

Besides the tables: the audit head's one row (the chain starts from 64 zeros), and
triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) of audit records, so
that not even the schema owner changes the trail without first, visibly, dropping them.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: the hash the first audit record chains from
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False, autoincrement=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_records',
    sa.Column('seq', sa.Integer(), nullable=False, autoincrement=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('changes_json', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('client', sa.String(length=64), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_records')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_records_hash'))
    )
    op.create_table('trials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('protocol_yaml', sa.Text(), nullable=False),
    sa.Column('protocol_sha256', sa.String(length=64), nullable=False),
    sa.Column('blinded', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trials')),
    sa.UniqueConstraint('code', name=op.f('uq_trials_code'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('allocation_states',
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('state_json', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'],
        name=op.f('fk_allocation_states_trial_id_trials')),
    sa.PrimaryKeyConstraint('trial_id', name=op.f('pk_allocation_states'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'],
        name=op.f('fk_notifications_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_table('randomisation_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('per_stratum', sa.Integer(), nullable=True),
    sa.Column('algorithm_version', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'],
        name=op.f('fk_randomisation_lists_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_randomisation_lists')),
    sa.UniqueConstraint('trial_id', name=op.f('uq_randomisation_lists_trial_id'))
    )
    op.create_table('sealed_seeds',
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'],
        name=op.f('fk_sealed_seeds_trial_id_trials')),
    sa.PrimaryKeyConstraint('trial_id', name=op.f('pk_sealed_seeds'))
    )
    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_sessions_token_sha256'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('country', sa.String(length=3), nullable=True),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_sites_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('trial_id', 'code', name=op.f('uq_sites_trial_id_code'))
    )
    op.create_table('list_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('block', sa.Integer(), nullable=False),
    sa.Column('block_size', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=32), nullable=False),
    sa.Column('masked_code', sa.String(length=32), nullable=True),
    sa.Column('allocation_id', sa.Integer(), nullable=True),
    *_slot_allocation_fk(inline=True),
    sa.ForeignKeyConstraint(['list_id'], ['randomisation_lists.id'],
        name=op.f('fk_list_slots_list_id_randomisation_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_slots')),
    sa.UniqueConstraint('allocation_id', name=op.f('uq_list_slots_allocation_id')),
    sa.UniqueConstraint('list_id', 'stratum', 'position',
        name=op.f('uq_list_slots_list_id_stratum_position'))
    )
    op.create_table('role_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("role <> 'investigator' OR site_id IS NOT NULL",
        name=op.f('ck_role_assignments_investigator_has_site')),
    sa.CheckConstraint("role IN ('admin', 'investigator', 'data_manager', 'monitor', 'unblinded_statistician')",
        name=op.f('ck_role_assignments_known_role')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
        name=op.f('fk_role_assignments_site_id_sites')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'],
        name=op.f('fk_role_assignments_trial_id_trials')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
        name=op.f('fk_role_assignments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_assignments')),
    sa.UniqueConstraint('user_id', 'trial_id', 'role', 'site_id',
        name=op.f('uq_role_assignments_user_id_trial_id_role_site_id'))
    )
    op.create_table('subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('eligibility_json', sa.Text(), nullable=False),
    sa.Column('factors_json', sa.Text(), nullable=False),
    sa.Column('eligibility_status', sa.String(length=32), nullable=False),
    sa.Column('refusal_json', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'],
        name=op.f('fk_subjects_created_by_users')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_subjects_site_id_sites')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_subjects_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subjects')),
    sa.UniqueConstraint('trial_id', 'code', name=op.f('uq_subjects_trial_id_code'))
    )
    op.create_table('allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('stratum_json', sa.Text(), nullable=False),
    sa.Column('corrected_stratum_json', sa.Text(), nullable=True),
    sa.Column('stratum', sa.String(length=255), nullable=False),
    sa.Column('arm', sa.String(length=32), nullable=False),
    sa.Column('masked_code', sa.String(length=32), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('allocated_by', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['allocated_by'], ['users.id'],
        name=op.f('fk_allocations_allocated_by_users')),
    sa.ForeignKeyConstraint(['slot_id'], ['list_slots.id'],
        name=op.f('fk_allocations_slot_id_list_slots')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'],
        name=op.f('fk_allocations_subject_id_subjects')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'],
        name=op.f('fk_allocations_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations')),
    sa.UniqueConstraint('slot_id', name=op.f('uq_allocations_slot_id')),
    sa.UniqueConstraint('subject_id', name=op.f('uq_allocations_subject_id')),
    sa.UniqueConstraint('trial_id', 'idempotency_key',
        name=op.f('uq_allocations_trial_id_idempotency_key')),
    sa.UniqueConstraint('trial_id', 'sequence', name=op.f('uq_allocations_trial_id_sequence'))
    )
    _slot_allocation_fk(inline=False)
    op.create_table('unblindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('allocation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['allocation_id'], ['allocations.id'],
        name=op.f('fk_unblindings_allocation_id_allocations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_unblindings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unblindings'))
    )
    op.execute(sa.text(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')"))
    _append_only_triggers()


def _slot_allocation_fk(*, inline: bool) -> list[sa.ForeignKeyConstraint]:
    """list_slots.allocation_id -> allocations.id: the two tables refer to each other, so on
    PostgreSQL the key is added once both exist; SQLite accepts it inline (and cannot add it
    later without rebuilding the table)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    name = op.f("fk_list_slots_allocation_id_allocations")
    if inline and sqlite:
        return [sa.ForeignKeyConstraint(["allocation_id"], ["allocations.id"], name=name)]
    if not inline and not sqlite:
        op.create_foreign_key(name, "list_slots", "allocations", ["allocation_id"], ["id"])
    return []


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(
            "CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_records is append-only: % refused', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"))
        op.execute(sa.text(
            "CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records "
            "FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()"))
        op.execute(sa.text(
            "CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()"))
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(sa.text(
                f"CREATE TRIGGER audit_records_no_{event.lower()} BEFORE {event} ON "
                f"audit_records BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: "
                f"{event} refused'); END"))


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DROP TRIGGER audit_records_no_truncate ON audit_records"))
        op.execute(sa.text("DROP TRIGGER audit_records_no_change ON audit_records"))
        op.execute(sa.text("DROP FUNCTION audit_records_append_only()"))
    else:
        op.execute(sa.text("DROP TRIGGER audit_records_no_update"))
        op.execute(sa.text("DROP TRIGGER audit_records_no_delete"))


def downgrade() -> None:
    _drop_append_only_triggers()
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_list_slots_allocation_id_allocations"), "list_slots",
                           type_="foreignkey")
    op.drop_table('unblindings')
    op.drop_table('allocations')
    op.drop_table('subjects')
    op.drop_table('role_assignments')
    op.drop_table('list_slots')
    op.drop_table('sites')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_user_id'))

    op.drop_table('sessions')
    op.drop_table('sealed_seeds')
    op.drop_table('randomisation_lists')
    op.drop_table('notifications')
    op.drop_table('api_tokens')
    op.drop_table('allocation_states')
    op.drop_table('users')
    op.drop_table('trials')
    op.drop_table('audit_records')
    op.drop_table('audit_head')
