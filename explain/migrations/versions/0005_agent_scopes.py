"""Optional scopes for agent keys, and a tenant label on any key.

Revision ID: 0005_agent_scopes
Revises: 0004_merkle_log
Create Date: 2026-12-05

``api_keys.tenant`` labels a key (typically an issuer key: which lender, brand or business line it posts
for). ``api_keys.scope`` limits an agent key to the decisions issued by given issuer key ids and/or by keys of
one tenant, as JSON (``{"issuers": ["3f9c..."], "tenant": "brand-a"}``); NULL means unlimited, as every key
written before this revision is. Both columns are nullable, so the upgrade rewrites nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_agent_scopes"
down_revision: str | Sequence[str] | None = "0004_merkle_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("tenant", sa.String(64), nullable=True))
        batch.add_column(sa.Column("scope", sa.Text, nullable=True))
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_tenant", table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
        batch.drop_column("tenant")
