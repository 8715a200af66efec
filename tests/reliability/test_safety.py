"""Safety: no network with the embedded backend, no reading outside the workspace, no
workspace code executed.

The network checks run the real server with the real default model: a socket audit of the
server and its worker (psutil), and a completion with the server in a network namespace
that has no interface up. The index checks are unit level (`WorkspaceIndex`, no model) plus
one count through the server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from ghostline.index.walker import IgnoreRules
from ghostline.index.workspace import WorkspaceIndex

from .conftest import (
    HEALTH_POSITION,
    HEALTH_TEXT,
    SERVER,
    RawServer,
    copy_sample,
    start_ready_server,
)

OUTSIDE_NAME = "outside_secret_function"
#: Code that leaves a marker file if anything imports or runs it.
MARKER_CODE = (
    "import pathlib\n"
    "pathlib.Path(__file__).with_name('MARKER_' + pathlib.Path(__file__).stem).write_text('ran')\n"
)


def build_workspace(base: Path) -> tuple[Path, Path]:
    """The sample project plus links out of it, a link loop, and files that would leave
    a marker if executed. Returns (workspace, the folder outside it)."""
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(f"def {OUTSIDE_NAME}():\n    return 42\n")
    (outside / ".gitignore").write_text("*.py\n")
    root = copy_sample(base)
    (root / "linked_folder").symlink_to(outside, target_is_directory=True)
    (root / "linked_file.py").symlink_to(outside / "secret.py")
    (root / "loop").mkdir()
    (root / "loop" / "again").symlink_to(root / "loop", target_is_directory=True)
    (root / "a_link").symlink_to(root / "b_link")
    (root / "b_link").symlink_to(root / "a_link")
    for name in ("conftest.py", "setup.py", "sitecustomize.py", "__main__.py"):
        (root / name).write_text(MARKER_CODE)
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(MARKER_CODE + "\ndef pkg_helper():\n    return 1\n")
    (package / "test_pkg.py").write_text(MARKER_CODE + "\ndef test_pkg():\n    assert True\n")
    (root / "uses_pkg.py").write_text("from pkg import pkg_helper\n\n\nvalue = pkg_helper()\n")
    return root, outside


def markers(root: Path) -> list[str]:
    """Marker files anywhere under `root` (links not followed: there is a loop)."""
    return sorted(name for _, _, files in os.walk(root) for name in files
                  if name.startswith("MARKER_"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_workspace(tmp_path_factory.mktemp("safety"))


@pytest.fixture(scope="module")
def safety_server(workspace: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[RawServer]:
    server = start_ready_server(workspace[0], tmp_path_factory.mktemp("logs"))
    yield server
    server.close()


# --- (a) no network ---------------------------------------------------------------------------


def inet_sockets(pid: int) -> list[str]:
    """Internet sockets of `pid` and all its descendants."""
    process = psutil.Process(pid)
    found = []
    for member in [process, *process.children(recursive=True)]:
        try:
            found += [f"{member.pid} {member.name()}: {c}"
                      for c in member.net_connections(kind="inet")]
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.model
def test_server_and_worker_open_no_network_socket(
        safety_server: RawServer, workspace: tuple[Path, Path]) -> None:
    root = workspace[0]
    pid = safety_server.process.pid
    audits = [inet_sockets(pid)]  # after initialize and the index scan
    uri = safety_server.open(root / "area.py", HEALTH_TEXT)
    text = safety_server.completion_text(safety_server.complete(uri, **HEALTH_POSITION))
    assert text.strip()
    audits.append(inet_sockets(pid))
    assert "error" not in safety_server.hover(uri, 3, 6)
    assert "error" not in safety_server.code_actions(uri, 3, 6)
    audits.append(inet_sockets(pid))
    status = safety_server.status()
    assert status["backend"] == "local" and isinstance(status["workerPid"], int)
    worker = psutil.Process(status["workerPid"])
    assert worker.ppid() == pid  # the audit covered the worker
    assert audits == [[], [], []], audits


def network_namespace_prefix() -> list[str]:
    """A command prefix that runs a program in a new network namespace (no interface up)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no `unshare` here; the socket audit above still checks the server")
    for prefix in ([unshare, "-n"], [unshare, "-rn"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    pytest.skip("network namespaces are not allowed here; the socket audit still runs")


@pytest.mark.model
def test_completion_works_in_a_network_namespace_without_interfaces(tmp_path: Path) -> None:
    prefix = network_namespace_prefix()
    probe = subprocess.run([*prefix, sys.executable, "-c",
                            "import socket; socket.create_connection(('127.0.0.1', 9), 2)"],
                           capture_output=True, text=True)
    assert probe.returncode != 0, "the namespace still reaches 127.0.0.1"
    root = copy_sample(tmp_path)
    server = start_ready_server(root, tmp_path, command=[*prefix, *SERVER])
    try:
        uri = server.open(root / "area.py", HEALTH_TEXT)
        text = server.completion_text(server.complete(uri, **HEALTH_POSITION))
        assert text.strip()
        assert server.status()["state"] == "ready"
    finally:
        server.close()


# --- (b) the index stays inside the workspace ---------------------------------------------------


def scan_in_thread(index: WorkspaceIndex, limit_s: float = 30) -> None:
    """Scan, failing if the scan does not end in time (a link loop would trap it)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            index.scan()
        except BaseException as exc:  # reported in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), "the scan did not finish: a link loop trapped it?"
    assert not failure, failure


def test_links_out_of_the_workspace_are_not_followed(tmp_path: Path) -> None:
    root, outside = build_workspace(tmp_path)
    index = WorkspaceIndex([root], use_cache=False, workers=1)
    scan_in_thread(index)
    files = index.all_files()
    assert files and all(path.resolve().is_relative_to(root) for path in files)
    assert not any(outside in path.resolve().parents for path in files)
    assert index.definitions(OUTSIDE_NAME) == []
    assert index.definitions("pkg_helper")  # the workspace's own code is indexed
    # The watcher's path: a change reported under a link is not indexed either.
    changed = index.files_changed([root / "linked_folder" / "secret.py",
                                   root / "linked_file.py", outside / "secret.py"])
    assert changed == [] and index.definitions(OUTSIDE_NAME) == []
    index.close()


def test_a_linked_gitignore_is_not_read(tmp_path: Path) -> None:
    """A `.gitignore` linking out would read a file outside the workspace (here it would
    also hide every Python file)."""
    root, outside = build_workspace(tmp_path)
    (root / ".gitignore").symlink_to(outside / ".gitignore")
    rules = IgnoreRules([root])
    names = {found.path.name for found in rules.walk().files}
    assert "uses_pkg.py" in names and "secret.py" not in names


@pytest.mark.model
def test_the_server_indexes_only_the_workspace(
        safety_server: RawServer, workspace: tuple[Path, Path]) -> None:
    root = workspace[0]
    expected = WorkspaceIndex([root], use_cache=False, workers=1)
    scan_in_thread(expected)
    # The same files as the unit-level index (no link followed), plus the documents the
    # editor opened that are not on disk.
    on_disk = {path.as_uri() for path in expected.all_files()}
    opened_only = [uri for uri in safety_server.documents if uri not in on_disk]
    indexed = safety_server.status()["indexedFiles"]
    assert indexed == len(on_disk) + len(opened_only), (indexed, on_disk, opened_only)
    assert all(path.resolve().is_relative_to(root) for path in expected.all_files())
    expected.close()


# --- (c) no workspace code runs -----------------------------------------------------------------


@pytest.mark.model
def test_no_workspace_code_runs(safety_server: RawServer, workspace: tuple[Path, Path]) -> None:
    root = workspace[0]
    server = safety_server
    for name in ("conftest.py", "setup.py", "pkg/__init__.py", "pkg/test_pkg.py",
                 "uses_pkg.py"):
        path = root / name
        uri = server.open(path, path.read_text())
        for line in range(3):
            assert "error" not in server.hover(uri, line, 6)
            actions = server.code_actions(uri, line, 6)
            assert "error" not in actions
    uri = server.open(root / "more.py", "from pkg import pkg_helper\n\n\ndef twice():\n"
                                        "    return ")
    assert "error" not in server.complete(uri, 4, 11)
    server.notify("workspace/didChangeWatchedFiles", {"changes": [
        {"uri": (root / "setup.py").as_uri(), "type": 2},
        {"uri": (root / "pkg" / "__init__.py").as_uri(), "type": 2}]})
    time.sleep(1.0)  # let the watcher and the re-index run
    assert server.status()["state"] == "ready"
    assert markers(root) == []


def test_server_started_in_the_workspace_folder_runs_no_workspace_module(
        tmp_path: Path) -> None:
    """Editors start `python -m ghostline serve` in the workspace: its `typing.py` must not
    shadow the standard library's."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "typing.py").write_text(MARKER_CODE)
    process = subprocess.run(SERVER, cwd=root, input=b"", capture_output=True, timeout=60,
                             env={**os.environ})
    assert markers(root) == [], process.stderr[-500:]
    assert process.returncode == 0, process.stderr[-500:]  # stdin closed: a clean exit
