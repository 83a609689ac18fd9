"""Typed errors, so callers (CLI, editor) can say what went wrong without parsing text."""

from __future__ import annotations

#: the most characters of a person's or a file's text an error message repeats
QUOTE_LIMIT = 80


def quote(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``text`` quoted as Python's repr does (control characters and lone surrogates
    escaped), cut to its first ``limit`` characters with "…": a message must stay one
    short line even when the offending text is a megabyte long."""
    s = text if isinstance(text, str) else str(text)
    if len(s) <= limit:
        return repr(s)
    r = repr(s[:limit])
    return r[:-1] + "…" + r[-1]


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` unquoted, cut to ``limit`` characters with "…" (for text that is already
    formatted, such as a JSON value)."""
    return text if len(text) <= limit else text[:limit] + "…"


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class ConnectError(EngineError):
    """A connection the graph refuses; the message says why in a learner's words."""


class CycleError(ConnectError):
    pass


class SelfLoopError(ConnectError):
    pass


class PortError(ConnectError):
    """The target op has no such input port."""


class PortTakenError(ConnectError):
    """The input port is already fed by another edge."""


class InvalidNameError(EngineError):
    """A node name that is empty, not an identifier, reserved or already used."""


class InvalidValueError(EngineError, ValueError):
    """A number the graph cannot hold where it was given (a non-finite exponent)."""


class OutputError(EngineError):
    """No output can be chosen: none marked and zero or several sinks."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


class ExpressionError(EngineError):
    """A rejected expression; carries the 1-based line and column it points at."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(f"line {line}, column {col}: {message}")
        self.reason = message
        self.line = line
        self.col = col


class GraphFileError(EngineError):
    """Any problem reading a graph file; the message names file, JSON path and problem."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        # path "" is the file itself (a FIFO, too large), not a place in its JSON
        super().__init__(f"{file}: {path}: {problem}" if path else f"{file}: {problem}")
        self.file = file
        self.path = path
        self.problem = problem
