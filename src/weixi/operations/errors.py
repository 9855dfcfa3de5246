"""The refusals of retention operations, by kind (the class gives the HTTP status and the exit code; the code and
params give the sentence, from the catalogue). Nothing was changed when one is raised."""

from __future__ import annotations

from weixi.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable


class OperationsError(Invalid, ValueError):
    """Bad input (a field, a file, an outcome); the code says what and where."""


class UnknownTask(NotFound, OperationsError):
    """No task with that id."""


class StaffNotFound(NotFound, OperationsError):
    """No staff member with that id on the roster."""


class TaskClosed(Conflict, OperationsError):
    """The task is no longer open (or this try was already recorded differently): nothing was recorded."""


class OperationsConflict(Conflict, OperationsError):
    """Refused in the current state: the contact policy stops it, the month has no snapshot, the plan has errors."""


class OperationsUnavailable(Unavailable, OperationsError):
    """Not possible now (loading the month's tasks failed): try again."""


class OperationsForbidden(Forbidden, OperationsError):
    """The caller may not see or change this task, queue or team."""
