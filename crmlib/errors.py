"""The exceptions crmlib raises.

Every error a user can cause derives from :class:`CrmlibError`, so the CLI can print one clear line
and exit non-zero instead of a traceback. Context goes into attributes, not only into the message.
"""

from __future__ import annotations

__all__ = [
    "CrmlibError",
    "DatabaseUnavailableError",
    "DataContractError",
    "EmptyDataError",
    "InsufficientMemoryError",
    "NotFittedError",
    "ParameterError",
    "ReadOnlyError",
    "ReportExecutionError",
]


class CrmlibError(Exception):
    """Base class of every error crmlib raises on purpose."""


class DatabaseUnavailableError(CrmlibError):
    """The database cannot be reached or opened (the URL in the message has its password redacted)."""

    def __init__(self, message: str, *, url: str | None = None):
        super().__init__(message)
        self.url = url


class DataContractError(CrmlibError):
    """The database does not hold what the canonical schema promises (missing table or column, bad type)."""

    def __init__(self, message: str, *, table: str | None = None, column: str | None = None,
                 url: str | None = None):
        super().__init__(message)
        self.table = table
        self.column = column
        self.url = url


class EmptyDataError(DataContractError):
    """A table or a filtered selection that an analysis needs is empty."""


class ParameterError(CrmlibError, ValueError):
    """A parameter has a wrong type or a value outside its allowed range."""

    def __init__(self, message: str, *, name: str | None = None):
        super().__init__(message)
        self.name = name


class InsufficientMemoryError(CrmlibError, MemoryError):
    """A computation is estimated to need more memory than the machine has; it was not started."""

    def __init__(self, message: str, *, estimate_bytes: int | None = None,
                 available_bytes: int | None = None):
        super().__init__(message)
        self.estimate_bytes = estimate_bytes
        self.available_bytes = available_bytes


class ReadOnlyError(CrmlibError):
    """Something tried to write to the source database through crmlib."""


class NotFittedError(CrmlibError, AttributeError):
    """A model method needs ``fit`` to be called first."""


class ReportExecutionError(CrmlibError):
    """A notebook failed while the runner executed it."""

    def __init__(self, message: str, *, notebook: str | None = None, cell_index: int | None = None,
                 ename: str | None = None, evalue: str | None = None, path: str | None = None):
        super().__init__(message)
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.path = path
