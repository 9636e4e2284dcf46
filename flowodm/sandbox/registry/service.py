"""The registry's rules (Confluent Schema Registry semantics), independent of HTTP.

Each public method of :class:`Registry` is one REST operation: it takes already-decoded path,
query and body values, applies Confluent's rules (global content-addressed ids, per-subject
versions never reused after a soft delete, soft-then-permanent deletes, compatibility levels)
and returns the JSON-ready answer, or raises :class:`RegistryHTTPError`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from flowodm.sandbox.registry import errors
from flowodm.sandbox.registry.compat import DEFAULT_LEVEL, CompatibilityLevel, check_compatibility
from flowodm.sandbox.registry.inputs import LATEST, SchemaRequest, parse_version
from flowodm.sandbox.registry.schemas import AVRO, ParsedSchema, Reference, parse_schema
from flowodm.sandbox.registry.store import RegistryStore, SchemaRow, VersionRow

_CACHE_LIMIT = 1024
# Deep enough for any sane reference chain; stops a cycle created by purge + re-register.
_MAX_REFERENCE_DEPTH = 32


class Registry:
    """Confluent Schema Registry operations over a :class:`RegistryStore`."""

    def __init__(self, store: RegistryStore) -> None:
        self.store = store
        self._cache: dict[int, ParsedSchema] = {}
        self._cache_lock = threading.Lock()

    # --- schemas and versions ------------------------------------------------------------

    def register(self, subject: str, request: SchemaRequest) -> dict[str, Any]:
        """Register a schema under ``subject``; idempotent; returns ``{"id": N}``."""
        with self.store.transaction():
            parsed = self._parse(request)
            identity = _identity(parsed)
            existing_id = self.store.schema_id_for(identity)
            rows = self.store.versions(subject)
            live = [row for row in rows if not row.deleted]
            if existing_id is not None and any(row.schema_id == existing_id for row in live):
                return {"id": existing_id}
            messages = check_compatibility(
                self.effective_level(subject), parsed, self._history(live)
            )
            if messages:
                raise errors.incompatible_schema(subject, messages)
            schema_id = existing_id
            if schema_id is None:
                schema_id = self.store.insert_schema(
                    parsed.schema_type, identity, parsed.text, parsed.references
                )
            next_version = max((row.version for row in rows), default=0) + 1
            self.store.add_version(subject, next_version, schema_id)
        return {"id": schema_id}

    def lookup(self, subject: str, request: SchemaRequest, deleted: bool) -> dict[str, Any]:
        """Find which version of ``subject`` holds the schema (40401/40403 when none)."""
        with self.store.transaction():
            rows = self._visible(subject, deleted)
            if not rows:
                raise errors.subject_not_found(subject)
            schema_id = self.store.schema_id_for(_identity(self._parse(request)))
            matches = [row for row in rows if row.schema_id == schema_id]
            if not matches:
                raise errors.schema_not_found()
            # Prefer a live version over a soft-deleted one, then the newest.
            best = max(matches, key=lambda row: (not row.deleted, row.version))
            return self._version_body(best)

    def subjects(self, deleted: bool, deleted_only: bool, prefix: str) -> list[str]:
        """List subjects with live versions (``deleted``: also soft-deleted ones)."""
        names = []
        for subject in self.store.subjects():
            if not subject.startswith(prefix):
                continue
            rows = self.store.versions(subject)
            has_live = any(not row.deleted for row in rows)
            if (deleted_only and not has_live) or (not deleted_only and (has_live or deleted)):
                names.append(subject)
        return names

    def versions(self, subject: str, deleted: bool, deleted_only: bool) -> list[int]:
        """List the version numbers of ``subject`` (40401 when it has none to show)."""
        rows = self.store.versions(subject)
        if deleted_only:
            shown = [row.version for row in rows if row.deleted]
        else:
            shown = [row.version for row in rows if deleted or not row.deleted]
        if not shown and not any(deleted or not row.deleted for row in rows):
            raise errors.subject_not_found(subject)
        return shown

    def version(self, subject: str, version: str, deleted: bool) -> dict[str, Any]:
        """Return one version of ``subject`` (``latest``/``-1`` allowed)."""
        return self._version_body(self._find_version(subject, parse_version(version), deleted))

    def version_schema(self, subject: str, version: str, deleted: bool) -> str:
        """Return the bare schema text of one version."""
        row = self._find_version(subject, parse_version(version), deleted)
        return self._schema_row(row.schema_id).text

    def referenced_by(self, subject: str, version: str) -> list[int]:
        """Return ids of live schemas that reference this version."""
        row = self._find_version(subject, parse_version(version), deleted=False)
        return self.store.referencing_ids(subject, row.version, include_deleted=False)

    def delete_version(self, subject: str, version: str, permanent: bool) -> int:
        """Soft-delete a version, or permanently delete a soft-deleted one."""
        number = parse_version(version)
        with self.store.transaction():
            rows = self.store.versions(subject)
            if not rows:
                raise errors.subject_not_found(subject)
            if number == LATEST:
                candidates = rows if permanent else [row for row in rows if not row.deleted]
                if not candidates:
                    raise errors.version_not_found(subject, version)
                number = candidates[-1].version
            row = next((row for row in rows if row.version == number), None)
            if row is None:
                raise errors.version_not_found(subject, number)
            if not permanent and row.deleted:
                raise errors.version_soft_deleted(subject, number)
            if permanent and not row.deleted:
                raise errors.version_not_soft_deleted(subject, number)
            if self.store.referencing_ids(subject, number, include_deleted=permanent):
                raise errors.reference_exists(subject, number)
            if permanent:
                self.store.purge(subject, number)
            else:
                self.store.soft_delete(subject, number)
        return number

    def delete_subject(self, subject: str, permanent: bool) -> list[int]:
        """Soft-delete every live version, or permanently delete a soft-deleted subject."""
        with self.store.transaction():
            rows = self.store.versions(subject)
            if not rows:
                raise errors.subject_not_found(subject)
            live = [row for row in rows if not row.deleted]
            if permanent and live:
                raise errors.subject_not_soft_deleted(subject)
            if not permanent and not live:
                raise errors.subject_soft_deleted(subject)
            targets = rows if permanent else live
            for row in targets:
                if self.store.referencing_ids(subject, row.version, include_deleted=permanent):
                    raise errors.reference_exists(subject, row.version)
            for row in targets:
                if permanent:
                    self.store.purge(subject, row.version)
                else:
                    self.store.soft_delete(subject, row.version)
            # Confluent drops a deleted subject's own compatibility config as well.
            self.store.delete_config(subject)
        return [row.version for row in targets]

    # --- schemas by id -------------------------------------------------------------------

    def schema_by_id(self, schema_id: int, subject: str | None) -> dict[str, Any]:
        """Return ``{"schema", "schemaType" (not Avro), "references" (if any)}`` for an id."""
        rows = self._rows_of_schema(schema_id)
        if subject is not None and not any(row.subject == subject for row in rows):
            raise errors.schema_not_found(f"Schema {schema_id} not found under subject {subject}")
        return _schema_body(self._schema_row(schema_id))

    def schema_text_by_id(self, schema_id: int, subject: str | None) -> str:
        """Return the bare schema text for an id."""
        return str(self.schema_by_id(schema_id, subject)["schema"])

    def schema_versions(self, schema_id: int, deleted: bool) -> list[dict[str, Any]]:
        """Return the ``{"subject", "version"}`` pairs that use a schema id."""
        rows = self._rows_of_schema(schema_id)
        return [
            {"subject": row.subject, "version": row.version}
            for row in rows
            if deleted or not row.deleted
        ]

    def schema_subjects(self, schema_id: int, deleted: bool) -> list[str]:
        """Return the subjects that use a schema id."""
        rows = self._rows_of_schema(schema_id)
        return sorted({row.subject for row in rows if deleted or not row.deleted})

    # --- compatibility -------------------------------------------------------------------

    def effective_level(self, subject: str) -> CompatibilityLevel:
        """Return the subject's level, else the global level, else BACKWARD."""
        level = self.store.get_config(subject) or self.store.get_config(None)
        return CompatibilityLevel(level) if level else DEFAULT_LEVEL

    def test_compatibility(
        self, subject: str, version: str | None, request: SchemaRequest, verbose: bool
    ) -> dict[str, Any]:
        """Check a schema against one version (``version``) or the level's versions (``None``).

        As in Confluent, a subject without live versions is compatible for the all-versions
        form and for ``latest``; a numbered version that does not exist answers 40402.
        """
        number = None if version is None else parse_version(version)
        with self.store.transaction():
            parsed = self._parse(request)
            live = [row for row in self.store.versions(subject) if not row.deleted]
            if number is not None and number != LATEST:
                live = [row for row in live if row.version == number]
                if not live:
                    raise errors.version_not_found(subject, number)
            elif number == LATEST:
                live = live[-1:]
            messages = check_compatibility(
                self.effective_level(subject), parsed, self._history(live)
            )
        answer: dict[str, Any] = {"is_compatible": not messages}
        if verbose:
            answer["messages"] = messages
        return answer

    # --- config --------------------------------------------------------------------------

    def get_config(self, subject: str | None, default_to_global: bool) -> dict[str, Any]:
        """Return ``{"compatibilityLevel": ...}`` (40408 for an unconfigured subject)."""
        if subject is None:
            return {"compatibilityLevel": self._global_level().value}
        level = self.store.get_config(subject)
        if level is None:
            if not default_to_global:
                raise errors.compatibility_not_configured(subject)
            return {"compatibilityLevel": self._global_level().value}
        return {"compatibilityLevel": level}

    def set_config(self, subject: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """Set a level from ``{"compatibility": ...}``; returns ``{"compatibility": ...}``."""
        unsupported = sorted(
            key
            for key, value in body.items()
            if key not in ("compatibility", "compatibilityLevel") and value is not None
        )
        if unsupported:
            raise errors.bad_request(
                f"Unsupported config field(s) {', '.join(unsupported)}: this registry only "
                "supports 'compatibility'"
            )
        raw = body.get("compatibility", body.get("compatibilityLevel"))
        level = CompatibilityLevel.parse(raw)
        self.store.set_config(subject, level.value)
        return {"compatibility": level.value}

    def delete_config(self, subject: str | None) -> dict[str, Any]:
        """Remove a level and return it; a subject without a level of its own answers 40401.

        As in Confluent, whether the subject has versions does not matter, only its config.
        """
        with self.store.transaction():
            if subject is None:
                previous = self._global_level().value
            else:
                configured = self.store.get_config(subject)
                if configured is None:
                    raise errors.subject_not_found(subject)
                previous = configured
            self.store.delete_config(subject)
        return {"compatibilityLevel": previous}

    # --- helpers -------------------------------------------------------------------------

    def _global_level(self) -> CompatibilityLevel:
        level = self.store.get_config(None)
        return CompatibilityLevel(level) if level else DEFAULT_LEVEL

    def _parse(self, request: SchemaRequest) -> ParsedSchema:
        """Parse a request's schema, resolving its references (42201 when one is missing)."""
        referenced = self._resolve(request.references, depth=0)
        return parse_schema(request.schema_type, request.schema, request.references, referenced)

    def _resolve(self, references: tuple[Reference, ...], depth: int) -> list[ParsedSchema]:
        """Return the schemas ``references`` point to, dependencies first."""
        if depth > _MAX_REFERENCE_DEPTH:
            raise errors.invalid_schema("references nest too deeply (is there a cycle?)")
        resolved: list[ParsedSchema] = []
        for ref in references:
            rows = [row for row in self.store.versions(ref.subject) if not row.deleted]
            if ref.version == LATEST and rows:
                row: VersionRow | None = rows[-1]
            else:
                row = next((r for r in rows if r.version == ref.version), None)
            if row is None:
                raise errors.invalid_schema(
                    f"reference '{ref.name}' points to subject '{ref.subject}' version "
                    f"{ref.version}, which does not exist; register it first"
                )
            target = self._parsed(row.schema_id, depth + 1)
            for dependency in [*self._resolve(target.references, depth + 1), target]:
                if dependency not in resolved:
                    resolved.append(dependency)
        return resolved

    def _parsed(self, schema_id: int, depth: int = 0) -> ParsedSchema:
        """Return the parsed form of a stored schema (cached: stored schemas never change)."""
        with self._cache_lock:
            cached = self._cache.get(schema_id)
        if cached is not None:
            return cached
        row = self._schema_row(schema_id)
        referenced = self._resolve(row.references, depth)
        parsed = parse_schema(row.schema_type, row.text, row.references, referenced)
        with self._cache_lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[schema_id] = parsed
        return parsed

    def _history(self, rows: list[VersionRow]) -> list[tuple[int, ParsedSchema]]:
        return [(row.version, self._parsed(row.schema_id)) for row in rows]

    def _visible(self, subject: str, deleted: bool) -> list[VersionRow]:
        return [row for row in self.store.versions(subject) if deleted or not row.deleted]

    def _find_version(self, subject: str, number: int, deleted: bool) -> VersionRow:
        rows = self._visible(subject, deleted)
        if not rows:
            raise errors.subject_not_found(subject)
        if number == LATEST:
            return rows[-1]
        for row in rows:
            if row.version == number:
                return row
        raise errors.version_not_found(subject, number)

    def _rows_of_schema(self, schema_id: int) -> list[VersionRow]:
        rows = self.store.versions_of_schema(schema_id)
        if not rows:
            raise errors.schema_not_found(f"Schema {schema_id} not found")
        return rows

    def _schema_row(self, schema_id: int) -> SchemaRow:
        row = self.store.get_schema(schema_id)
        if row is None:
            raise errors.schema_not_found(f"Schema {schema_id} not found")
        return row

    def _version_body(self, row: VersionRow) -> dict[str, Any]:
        body: dict[str, Any] = {"subject": row.subject, "version": row.version, "id": row.schema_id}
        body.update(_schema_body(self._schema_row(row.schema_id)))
        return body


def _schema_body(row: SchemaRow) -> dict[str, Any]:
    """Return the Confluent schema fields of a stored schema."""
    body: dict[str, Any] = {"schema": row.text}
    if row.schema_type != AVRO:
        body["schemaType"] = row.schema_type
    if row.references:
        body["references"] = [ref.to_json() for ref in row.references]
    return body


def _identity(parsed: ParsedSchema) -> str:
    """Return the content address of a schema: type, canonical form and references."""
    material = json.dumps(
        [parsed.schema_type, parsed.canonical, [ref.to_json() for ref in parsed.references]],
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()
