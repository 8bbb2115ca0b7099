"""One error hierarchy. Messages name the input, what was expected, what was found and how to fix it."""

from __future__ import annotations


class KcsError(Exception):
    """Base of every error kcs-kit raises on purpose. ``hint`` says how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class ConfigError(KcsError):
    """A setting, kcs.toml or KCS_* variable has a bad value."""


class SchemaError(KcsError):
    """Input data does not have the expected columns, types or values."""


class IngestError(KcsError):
    """An ingest could not complete; the lake is left as it was before."""


class LakeBusyError(IngestError):
    """Another process is writing to the same lake."""


class ImageError(KcsError):
    """An image is corrupt, too large, of an unsupported type or unsafe."""


class IndexNotBuiltError(KcsError):
    """The vector index or feature store needed for a query does not exist yet."""


class MissingDependencyError(KcsError):
    """An optional part is not installed."""


class NotFoundError(KcsError):
    """A named record (declaration, design, case) does not exist."""
