"""What can go wrong when fitting a customer-value model: bad data and a fit that does not converge. Both carry
a code and params, rendered from the catalogue in the reader's language (:mod:`weixi.messages`)."""

from __future__ import annotations

from weixi.errors import Invalid, WeixiError


class CLVError(WeixiError):
    """Base of the customer-value errors (the CLI maps them to exit status 2)."""


class DataError(CLVError, Invalid, ValueError):
    """The input cannot be used as given (empty, negative, recency beyond age, ...)."""


class ConvergenceError(CLVError, Invalid):
    """Maximum likelihood did not converge on this data; ``reason`` is what the optimiser reported."""
