"""Exceptions raised by storage.

One root, narrow subclasses, so callers catch exactly what they can handle::

    StorageError                      anything storage refuses or cannot do
    ├── ConfigurationError            the database URL is malformed or names an unsupported backend
    ├── DatabaseUnavailable           the database cannot be reached, created or opened
    ├── MigrationError                applying the Alembic migrations failed
    ├── NotFound                      an id (entry, broadcast, outbox row) that does not exist
    └── InvalidValue                  a value storage cannot keep (not JSON, unknown status)
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error raised by the storage package."""


class ConfigurationError(StorageError, ValueError):
    """The database URL is malformed or names a backend we do not support."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached, created or opened (message is one line, password hidden)."""


class MigrationError(StorageError):
    """Applying the Alembic migrations to head failed."""


class NotFound(StorageError, LookupError):
    """The id given does not exist."""


class InvalidValue(StorageError, ValueError):
    """A value storage cannot keep: not JSON-serialisable, or an unknown status."""
