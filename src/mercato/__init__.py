"""Mercato: an open commerce network with no platform in the middle."""

__version__ = "0.1.0"
