"""Idempotent registration: the key a client sends with a registration and the SHA-256 of
what it registered, so that a retried request (a double submit, a lost answer) returns the
subject registered the first time instead of registering it twice.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("request_sha256", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_subjects_trial_id_idempotency_key"),
                                       ["trial_id", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.drop_constraint(op.f("uq_subjects_trial_id_idempotency_key"), type_="unique")
        batch.drop_column("request_sha256")
        batch.drop_column("idempotency_key")
