"""The HTTP API (FastAPI)."""

from backorder.api.app import create_app

__all__ = ["create_app"]
