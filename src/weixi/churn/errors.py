"""The errors the churn and target-list services raise, each with a code and params (rendered from the catalogue
in the reader's language, :mod:`weixi.messages`). :class:`ChurnError` is their base: catch it to catch them all."""

from __future__ import annotations

from weixi.errors import Conflict, Invalid, NotFound, WeixiError


class ChurnError(WeixiError):
    """Any churn or target-list error; the subclass fixes the kind (and so the HTTP status)."""


class ChurnInputError(ChurnError, Invalid, ValueError):
    """Bad input (a missing column, a label with one class, too few rows, an unknown option value...)."""


class DataNotReady(ChurnError, Conflict):
    """The data a step needs is not there yet (no data directory, no labels, not enough months, outcomes to come)."""


class NotScored(ChurnError, NotFound):
    """The month has no churn scores yet."""


class NoTargetLists(ChurnError, NotFound):
    """The month has no target lists yet."""


class NoModel(ChurnError, NotFound):
    """No stored model (of that version, or trained on that kind of data)."""


class ModelNotTrained(ChurnError, Conflict):
    """No model has been trained yet (of that kind): train one first."""
