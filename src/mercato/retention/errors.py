"""Errors raised by :mod:`mercato.retention`. Each carries a message a merchant can act on."""

from __future__ import annotations


class RetentionError(Exception):
    """Base class: a problem with the data or the request, not a bug."""


class InputError(RetentionError):
    """The input cannot be read: names the source, and where known the line and column."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None, column: str | None = None):
        self.source = source
        self.line = line
        self.column = column
        where = source
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}" if where else message)


class NotIdentifiableError(RetentionError):
    """The data cannot identify the model's parameters (e.g. only one-time buyers)."""
