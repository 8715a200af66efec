"""``WorkspaceIndex``: the live index of every source file in the workspace.

Made for an asyncio server: ``scan`` and the disk watcher run in worker threads, queries
come from the event loop. The class is assembled from one module per job:
``workspace_state`` (the in-memory state and its lock), ``workspace_scan`` (scanning),
``workspace_queries`` (queries), ``workspace_disk`` (disk changes and the watcher) and
``workspace_documents`` (open documents).
"""

from __future__ import annotations

from ghostline.index.workspace_documents import OpenDocumentsIndex


class WorkspaceIndex(OpenDocumentsIndex):
    """Definitions, imports and usages of every source file under ``roots``.

    ``cache_dir`` overrides the persistent cache folder (tests use ``tmp_path``);
    ``use_cache=False`` keeps everything in memory. ``workers``: processes that parse a big
    batch of files (cold scan, ``git checkout``); 1 parses in the calling thread; default
    one per CPU, at most 4.
    """


__all__ = ["WorkspaceIndex"]
