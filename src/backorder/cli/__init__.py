"""The `backorder` command line."""

from backorder.cli.app import app, main

__all__ = ["app", "main"]
