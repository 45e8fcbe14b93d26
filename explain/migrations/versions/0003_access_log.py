"""Who read which decision (the access log) and the agent page's sign-in sessions.

Revision ID: 0003_access_log
Revises: 0002_issuer_key
Create Date: 2026-11-29

Every read of a stored decision by an agent or auditor key, through the API or the agent page, is one row
of ``access_log``: the key's id, name and role, the account and decision read, how, and when. The page's
sessions live in the database too (``agent_sessions``, the sha256 of each session token, never the token),
so any worker behind a balancer can serve a signed-in agent and revoking a key ends its sessions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_access_log"
down_revision: str | Sequence[str] | None = "0002_issuer_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False, index=True),
        sa.Column("key_id", sa.String(32), nullable=False, index=True),
        sa.Column("key_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("account_ref", sa.String(128), nullable=False, index=True),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_sessions")
    op.drop_table("access_log")
