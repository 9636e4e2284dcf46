"""SQLite persistence of schemas, subject versions and compatibility config (no HTTP, no rules).

One connection, guarded by one re-entrant lock: :meth:`RegistryStore.transaction` holds the lock
for a whole read-check-write sequence, which is what makes concurrent registrations of one
schema get one id. Schema rows are never deleted, so ids are never reused; a version row is
either live, soft-deleted (``deleted = 1``) or gone (permanently deleted).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flowodm.sandbox.registry.schemas import Reference

DATABASE_NAME = "registry.sqlite3"
_GLOBAL_SCOPE = "global"
_SUBJECT_SCOPE = "subject:"

_DDL = """
CREATE TABLE IF NOT EXISTS schemas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_type TEXT NOT NULL,
    identity TEXT NOT NULL UNIQUE,
    schema_text TEXT NOT NULL,
    references_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES schemas(id),
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, version)
);
CREATE INDEX IF NOT EXISTS versions_by_schema ON versions(schema_id);
CREATE TABLE IF NOT EXISTS schema_references (
    schema_id INTEGER NOT NULL REFERENCES schemas(id),
    subject TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS references_by_target ON schema_references(subject, version);
CREATE TABLE IF NOT EXISTS config (
    scope TEXT PRIMARY KEY,
    compatibility TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class SchemaRow:
    """A stored schema: its global id, type, text and references."""

    id: int
    schema_type: str
    text: str
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class VersionRow:
    """One version of a subject and the schema id it points to."""

    subject: str
    version: int
    schema_id: int
    deleted: bool


class RegistryStore:
    """The registry's tables in ``data_dir/registry.sqlite3``.

    Args:
        data_dir: Directory for the database; created if missing.

    Raises:
        OSError: The directory cannot be created.
        sqlite3.Error: The database cannot be opened or written.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DATABASE_NAME
        self._lock = threading.RLock()
        # Access is serialised by ``_lock``, so the connection may be shared across threads.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_DDL)
        except sqlite3.Error:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[RegistryStore]:
        """Hold the lock and one SQLite transaction; commit on success, roll back on error."""
        with self._lock:
            if self._db.in_transaction:  # nested use inside an outer transaction
                yield self
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- schemas -------------------------------------------------------------------------

    def schema_id_for(self, identity: str) -> int | None:
        """Return the id of the schema with this identity key, if stored."""
        with self._lock:
            row = self._db.execute("SELECT id FROM schemas WHERE identity = ?", (identity,))
            found = row.fetchone()
        return None if found is None else int(found[0])

    def insert_schema(
        self, schema_type: str, identity: str, text: str, references: tuple[Reference, ...]
    ) -> int:
        """Store a new schema and return its new id."""
        refs_json = json.dumps([ref.to_json() for ref in references])
        with self.transaction():
            cursor = self._db.execute(
                "INSERT INTO schemas (schema_type, identity, schema_text, references_json) "
                "VALUES (?, ?, ?, ?)",
                (schema_type, identity, text, refs_json),
            )
            schema_id = cursor.lastrowid
            assert schema_id is not None
            self._db.executemany(
                "INSERT INTO schema_references (schema_id, subject, version) VALUES (?, ?, ?)",
                [(schema_id, ref.subject, ref.version) for ref in references],
            )
        return schema_id

    def get_schema(self, schema_id: int) -> SchemaRow | None:
        """Return the schema with this id, whether or not any version still uses it."""
        with self._lock:
            found = self._db.execute(
                "SELECT id, schema_type, schema_text, references_json FROM schemas WHERE id = ?",
                (schema_id,),
            ).fetchone()
        if found is None:
            return None
        references = tuple(
            Reference(str(ref["name"]), str(ref["subject"]), int(ref["version"]))
            for ref in json.loads(found[3])
        )
        return SchemaRow(int(found[0]), str(found[1]), str(found[2]), references)

    # --- versions ------------------------------------------------------------------------

    def subjects(self) -> list[str]:
        """Return every subject that has at least one version row (live or soft-deleted)."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT subject FROM versions ORDER BY subject")
            return [str(row[0]) for row in rows]

    def versions(self, subject: str) -> list[VersionRow]:
        """Return all version rows of ``subject`` (live and soft-deleted), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT subject, version, schema_id, deleted FROM versions "
                "WHERE subject = ? ORDER BY version",
                (subject,),
            )
            return [_version_row(row) for row in rows]

    def versions_of_schema(self, schema_id: int) -> list[VersionRow]:
        """Return every version row (live and soft-deleted) that points to ``schema_id``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT subject, version, schema_id, deleted FROM versions "
                "WHERE schema_id = ? ORDER BY subject, version",
                (schema_id,),
            )
            return [_version_row(row) for row in rows]

    def add_version(self, subject: str, version: int, schema_id: int) -> None:
        """Add a live version of ``subject``."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO versions (subject, version, schema_id) VALUES (?, ?, ?)",
                (subject, version, schema_id),
            )

    def soft_delete(self, subject: str, version: int) -> None:
        """Mark a version soft-deleted."""
        with self.transaction():
            self._db.execute(
                "UPDATE versions SET deleted = 1 WHERE subject = ? AND version = ?",
                (subject, version),
            )

    def purge(self, subject: str, version: int) -> None:
        """Remove a version row for good."""
        with self.transaction():
            self._db.execute(
                "DELETE FROM versions WHERE subject = ? AND version = ?", (subject, version)
            )

    def referencing_ids(self, subject: str, version: int, *, include_deleted: bool) -> list[int]:
        """Return ids of schemas whose versions reference ``subject``/``version``.

        Args:
            subject: The referenced subject.
            version: The referenced version.
            include_deleted: Count referencing versions that are soft-deleted, too.
        """
        live_only = "" if include_deleted else "AND v.deleted = 0 "
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT r.schema_id FROM schema_references r "
                f"JOIN versions v ON v.schema_id = r.schema_id {live_only}"
                "WHERE r.subject = ? AND r.version = ? ORDER BY r.schema_id",
                (subject, version),
            )
            return [int(row[0]) for row in rows]

    # --- compatibility config ------------------------------------------------------------

    def get_config(self, subject: str | None) -> str | None:
        """Return the configured level of ``subject`` (``None``: global), if set."""
        with self._lock:
            found = self._db.execute(
                "SELECT compatibility FROM config WHERE scope = ?", (_scope(subject),)
            ).fetchone()
        return None if found is None else str(found[0])

    def set_config(self, subject: str | None, level: str) -> None:
        """Set the level of ``subject`` (``None``: global)."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO config (scope, compatibility) VALUES (?, ?) "
                "ON CONFLICT(scope) DO UPDATE SET compatibility = excluded.compatibility",
                (_scope(subject), level),
            )

    def delete_config(self, subject: str | None) -> None:
        """Remove the level of ``subject`` (``None``: global)."""
        with self.transaction():
            self._db.execute("DELETE FROM config WHERE scope = ?", (_scope(subject),))


def _scope(subject: str | None) -> str:
    """Return the config key of a subject, or of the global config for ``None``."""
    return _GLOBAL_SCOPE if subject is None else _SUBJECT_SCOPE + subject


def _version_row(row: tuple[object, ...]) -> VersionRow:
    """Build a :class:`VersionRow` from a ``subject, version, schema_id, deleted`` row."""
    return VersionRow(str(row[0]), int(str(row[1])), int(str(row[2])), bool(row[3]))
