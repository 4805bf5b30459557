"""A partial index over the free slots of the sealed lists (``allocation_id IS NULL``), so
that finding a stratum's next slot does not step over every slot already used: the cost of
an allocation stays flat as the trial grows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FREE = sa.text("allocation_id IS NULL")


def upgrade() -> None:
    op.create_index("ix_list_slots_free", "list_slots", ["list_id", "stratum", "position"],
                    postgresql_where=_FREE, sqlite_where=_FREE)


def downgrade() -> None:
    op.drop_index("ix_list_slots_free", table_name="list_slots")
