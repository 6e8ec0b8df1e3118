"""Alembic migrations shipped inside the package; run from code by inknotes.store.migrate."""
