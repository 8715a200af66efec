"""Where generated tests run: the project's code, written by a model, on the user's machine.

Three fences, each where the platform has it:

- **Environment**: only the variables a test runner needs (the interpreter's and the
  toolchains' own, locale, temp folder), never the user's tokens and keys.
- **Memory**: Python runs get an address-space limit (``RLIMIT_AS``). Node and Go reserve
  large virtual ranges up front, so for them the limit would break the runner itself; they
  rely on the time limit.
- **Network**: on Linux, where unprivileged user namespaces are allowed, the runner starts in
  a fresh network namespace (``unshare -rn``) with no interface but loopback. Elsewhere the
  tests run with the network the user has; the run's note says so.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

#: Variables passed through to a test run (everything else is left out).
KEPT_VARIABLES = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ",
    "TMPDIR", "TEMP", "TMP", "TERM",
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE", "APPDATA",
    "LOCALAPPDATA", "PROGRAMDATA",
    "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONUTF8",
    "NODE_PATH", "NVM_DIR",
    "GOPATH", "GOROOT", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOTOOLCHAIN",
    "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "JAVA_HOME",
)
#: Address-space limit of a Python test run.
PYTHON_MEMORY_LIMIT_BYTES = 4 * 1024 ** 3


def runner_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a test run: the kept variables of ours, then ``extra``."""
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    env.update(extra or {})
    return env


@functools.cache
def network_isolation() -> list[str]:
    """The command prefix that starts a process without network access ([] where the
    system does not allow it; probed once)."""
    if not sys.platform.startswith("linux"):
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    prefix = [unshare, "--user", "--map-root-user", "--net"]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=5,
                               check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("test runs keep the network: %s", exc)
        return []
    if probe.returncode != 0:
        log.info("test runs keep the network: unshare failed (%s)",
                 probe.stderr.decode(errors="replace").strip()[:200])
        return []
    return prefix


def isolated(command: list[str]) -> list[str]:
    """``command`` started without network access where the system allows it."""
    return [*network_isolation(), *command]


def is_python(command: list[str]) -> bool:
    return bool(command) and Path(command[0]).name.lower().startswith("python")


def memory_limit(command: list[str]) -> Callable[[], None] | None:
    """A function that sets the memory limit in the child before it starts (None where
    there is none: not a Python run, or no ``resource`` module)."""
    if not is_python(command) or sys.platform == "win32":
        return None

    def limit() -> None:  # runs in the child between fork and exec
        import resource

        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS,
                               (PYTHON_MEMORY_LIMIT_BYTES, PYTHON_MEMORY_LIMIT_BYTES))

    return limit


def describe() -> str:
    """What the fences are on this machine, for logs and notes."""
    network = "no network" if network_isolation() else "the network the user has"
    return f"a clean environment, {network}, {PYTHON_MEMORY_LIMIT_BYTES >> 30} GiB for Python"
