"""What can go wrong when fitting a customer-value model: bad data and a fit that does not converge."""

from __future__ import annotations


class CLVError(Exception):
    """Base of the errors the CLI maps to exit status 2 with a plain message."""


class DataError(CLVError):
    """The input cannot be used as given (empty, negative, recency beyond age, ...)."""


class ConvergenceError(CLVError):
    """Maximum likelihood did not converge; the message says what the optimiser reported."""
