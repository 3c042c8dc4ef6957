"""The exceptions padan raises: one class per kind of error, with the CLI's exit code.

Each carries the message ``padan`` prints after ``error:``; like the CLI's, it names files,
lines, columns and settings, never a cell value of an extract.

>>> import padan
>>> try:
...     padan.link(["no-such-file.padan.parquet", "other.padan.parquet"])
... except padan.PadanError as e:
...     print(type(e).__name__, e.exit_code)
FileError 5
"""

from __future__ import annotations

__all__ = [
    "PadanError",
    "ConfigError",
    "InputError",
    "IncompatibleError",
    "TooLargeError",
    "FileError",
    "CheckFailedError",
    "TooManyRejectsError",
    "InternalError",
]


class PadanError(Exception):
    """Any error of padan. ``exit_code`` is the exit code of the same error in the CLI."""

    exit_code: int = 1


class ConfigError(PadanError, ValueError):
    """The configuration (schema, column map, link config, arguments) is wrong."""

    exit_code = 2


class InputError(PadanError, ValueError):
    """The input data is malformed in a way that stops the run (names file, row, column)."""

    exit_code = 3


class IncompatibleError(PadanError):
    """Inputs cannot be used together (different keys, schemas, versions, duplicate agency)."""

    exit_code = 4


class TooLargeError(PadanError):
    """The run would not fit in the memory budget; refused before the work starts."""

    exit_code = 4


class FileError(PadanError, OSError):
    """A file could not be read or written (the path and the system's reason)."""

    exit_code = 5


class CheckFailedError(PadanError):
    """A check asked for failed."""

    exit_code = 6


class TooManyRejectsError(PadanError):
    """Too many rows of the extract were rejected: the rejects file is written, no encoded file."""

    exit_code = 7


class InternalError(PadanError):
    """A bug in padan: please report it."""

    exit_code = 1
