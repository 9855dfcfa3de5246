"""How units, points and yuan are written in statements and JSON: exact decimal strings."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def units(value) -> str:
    """``Decimal('4.00')`` -> ``"4"``, ``Decimal('0.50')`` -> ``"0.5"``: no exponent, no trailing zeros."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def yuan(value) -> str:
    """Money with exactly two decimals: ``"180.00"``."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def signed(value) -> str:
    text = units(value)
    return text if text.startswith("-") else "+" + text
