"""The few statements SQLite and PostgreSQL spell differently."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def _insert(dialect: str, table: sa.Table):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def insert_ignore(dialect: str, table: sa.Table, keys: list[str]):
    """INSERT that does nothing when a row with the same ``keys`` exists."""
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=keys)


def upsert(dialect: str, table: sa.Table, keys: list[str], values: dict, update: list[str]):
    """INSERT, or UPDATE the ``update`` columns of the row with the same ``keys``."""
    stmt = _insert(dialect, table).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={name: stmt.excluded[name] for name in update}
    )
