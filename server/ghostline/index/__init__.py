"""Workspace index: tree-sitter definitions, imports and usages, live and persistent.

Entry point: ``WorkspaceIndex`` (``workspace.py``). Data: ``model.py``. Languages:
``languages.py`` and ``queries/*.scm``.
"""
