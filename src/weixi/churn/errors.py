"""The one error the churn and target-list services raise for bad input: a message that names the problem."""

from __future__ import annotations


class ChurnInputError(Exception):
    """Bad input (a missing column, a label with one class, too few rows, no data for a month...).

    The message says what is wrong, where, and what to do; the CLI prints it and exits with status 2.
    """
