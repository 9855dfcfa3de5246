"""Problems found in a plan file, as values with their source position.

Every stage of loading returns its diagnostics instead of raising, so one run of
``weixi plan check`` reports every problem in a file.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Pos:
    """A 1-based position in a source file."""

    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int  # 1-based
    column: int  # 1-based
    severity: str  # "error" | "warning"
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
        }

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.severity, self.message)


class Report:
    """Collects the diagnostics of one file while a stage runs."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Diagnostic] = []

    def error(self, pos: Pos, message: str) -> None:
        self.items.append(Diagnostic(self.file, pos.line, pos.column, ERROR, message))

    def warning(self, pos: Pos, message: str) -> None:
        self.items.append(Diagnostic(self.file, pos.line, pos.column, WARNING, message))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)
