"""Alembic revisions of the store's schema (run by ``store.migrate``; see its docstring)."""
