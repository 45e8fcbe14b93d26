"""Alembic migrations for the audit store, shipped with the package and run by :class:`explain.audit._store.AuditStore`."""
