"""Ghostline: a local-first AI code assistant delivered as a Language Server."""

__version__ = "0.1.0"
