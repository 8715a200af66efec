"""Workspace index: tree-sitter definitions, imports and usages, live and persistent.

Entry point: ``WorkspaceIndex`` (``workspace.py``, assembled from the ``workspace_*.py``
modules: state, scanning, queries, disk changes, open documents). Data: ``model.py``.
Languages: ``languages.py`` and ``queries/*.scm``.
"""
