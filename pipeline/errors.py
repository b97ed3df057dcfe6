"""The few exception classes the pipeline raises.

Each is built on a standard exception so callers can catch broadly; the CLI
translates any `PipelineError` into one line on stderr and a non-zero exit.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class for every error the pipeline reports to a user."""


class SourceError(PipelineError, ConnectionError):
    """A source could not be read, even after retries."""


class IncompleteReadError(SourceError):
    """A read did not reconcile with the portal's own row count."""


class ShrinkError(PipelineError, RuntimeError):
    """A sync would remove or quarantine more stored rows than allowed."""


class SchemaDriftError(PipelineError, ValueError):
    """A source's columns no longer match what the schema expects."""


class InputFileError(PipelineError, ValueError):
    """A local file is missing, unreadable or not in a recognised format."""


class StoreError(PipelineError, RuntimeError):
    """The local store is missing, locked or unusable."""


class UsageError(PipelineError, ValueError):
    """An argument is outside what is allowed."""


class PlaceNotFoundError(PipelineError, LookupError):
    """A place search found nothing in the city (an address outside it, a name unknown)."""
