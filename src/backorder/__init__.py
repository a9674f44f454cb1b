"""Backorder: never lose a sale to an empty shelf."""

__version__ = "0.1.0"
