"""Persistence: SQLAlchemy Core tables, the unit of work, repositories and migrations."""
