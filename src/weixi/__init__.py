"""Weixi (维系): customer retention and loyalty platform."""

__version__ = "0.1.0"
