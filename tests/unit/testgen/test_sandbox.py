"""Generated tests run fenced: a clean environment, a memory limit, no network (real
pytest subprocesses through `run_tests`)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ghostline.features.testgen_runner import run_tests
from ghostline.features.testgen_sandbox import (
    isolated,
    memory_limit,
    network_isolation,
    runner_environment,
)
from ghostline.index.testgen_locations import plan_test_file


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def project(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    return source


CANDIDATE = '''import os
import socket


def test_secret_is_not_passed():
    assert "GHOSTLINE_TEST_SECRET" not in os.environ
    assert os.environ.get("PATH")


def test_no_network():
    # a server listens on this port of the host's loopback: unreachable from a fresh
    # network namespace, reachable from anywhere else on the machine
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(3)
    assert probe.connect_ex(("127.0.0.1", PORT)) != 0


def test_memory_is_limited():
    try:
        block = bytearray(6 * 1024 ** 3)
    except MemoryError:
        return
    assert len(block) == 0, "6 GiB were allocated"
'''


def test_the_environment_keeps_only_what_runners_need(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTLINE_TEST_SECRET", "token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "key")
    env = runner_environment({"PYTHONPATH": "/x"})
    assert "GHOSTLINE_TEST_SECRET" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["PYTHONPATH"] == "/x" and env["PATH"]


def test_only_python_runs_get_a_memory_limit() -> None:
    assert memory_limit(["/usr/bin/python3", "-m", "pytest"]) is not None
    assert memory_limit(["node", "--test"]) is None
    assert isolated(["node"])[-1] == "node"


async def test_a_run_sees_no_secret_no_network_and_a_memory_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTLINE_TEST_SECRET", "token")
    source = project(tmp_path)
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None
    names = ["test_secret_is_not_passed", "test_memory_is_limited"]
    if network_isolation():
        names.append("test_no_network")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        port = listener.getsockname()[1]
        candidate = CANDIDATE.replace("PORT", str(port))
        result = await run_tests(plan, candidate, names, 60)
        # the same test outside the fence fails: the check can tell
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            pass
    finally:
        listener.close()
    assert result.ran
    assert sorted(result.passed) == sorted(names), result.failed
