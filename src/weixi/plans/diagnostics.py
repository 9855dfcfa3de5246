"""Problems found in a plan file, as values with their source position.

Every stage of loading returns its diagnostics instead of raising, so one run of
``weixi plan check`` reports every problem in a file. A diagnostic is a code of the error
catalogue with its params (never a sentence): the CLI prints its English sentence, a page and
the API render it in their reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from weixi.errors import Where, plain

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Pos:
    """A 1-based position in a source file."""

    line: int = 1
    column: int = 1


CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Diagnostic:
    """One problem of a plan file: where (file, 1-based line and column), how bad, and what, as a code of the error
    catalogue with its params (``weixi/locale/*/LC_MESSAGES/errors.po``). ``message`` is the English sentence (for
    the CLI and logs); a page renders the code in its reader's language."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    severity: str  # "error" | "warning"
    code: str
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not CODE.match(self.code):
            raise ValueError(f"a diagnostic takes a code of the error catalogue, not a text: {self.code!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def where(self) -> Where:
        return Where(file=self.file, line=self.line, column=self.column)

    @property
    def message(self) -> str:
        from weixi.messages import render

        return render(self, "en")

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "params": {k: plain(v) for k, v in self.params.items()},
            "message": self.message,
        }

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.severity, self.message)


def diagnostic(file: str, pos: Pos, severity: str, code: str, **params) -> Diagnostic:
    return Diagnostic(file, pos.line, pos.column, severity, code, {k: plain(v) for k, v in params.items()})


class Report:
    """Collects the diagnostics of one file while a stage runs."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Diagnostic] = []

    def error(self, pos: Pos, code: str, **params) -> None:
        """An error at ``pos``: ``code`` from the error catalogue, ``params`` fill its sentence."""
        self.items.append(diagnostic(self.file, pos, ERROR, code, **params))

    def warning(self, pos: Pos, code: str, **params) -> None:
        self.items.append(diagnostic(self.file, pos, WARNING, code, **params))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)
