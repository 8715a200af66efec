"""Command line: serve, complete, doctor, demo, bench, model, stats."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from ghostline.lsp.server import GhostlineServer


def _setup_logging(level: str) -> None:
    # stdout is the protocol: every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if level.upper() != "DEBUG":
        logging.getLogger("pygls").setLevel(logging.WARNING)


class _ClientStdin:
    """The server's stdin, calling `on_eof` once when the client closes it.

    An editor that exits or crashes closes the pipe. pygls then leaves its read loop, but
    the process only ends once every thread it started has returned: a workspace scan in
    progress would keep it (and its parser processes) running for seconds. `on_eof` stops
    that work at once, from the thread that read the end of the stream.
    """

    def __init__(self, stream: BinaryIO, on_eof: Callable[[], None]) -> None:
        self._stream = stream
        self._on_eof = on_eof
        self._ended = False

    def _seen(self, data: bytes) -> bytes:
        if not data and not self._ended:
            self._ended = True
            self._on_eof()
        return data

    def readline(self) -> bytes:
        return self._seen(self._stream.readline())

    def read(self, size: int = -1) -> bytes:
        return self._seen(self._stream.read(size))


def _client_gone(server: GhostlineServer) -> None:
    """Stop the index scan and the model worker: nobody is left to serve."""
    logging.getLogger(__name__).info("the client closed stdin; exiting")
    server.core.index_stop.set()
    server.ledger.close()  # what the usage ledger still holds in memory
    terminate = getattr(server.core.engine, "terminate", None)  # the local model worker
    if callable(terminate):
        terminate()


def cmd_serve(args: argparse.Namespace) -> int:
    from ghostline.lsp.app import create_server

    server = create_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        from ghostline.lsp.protocol import ResyncingStream

        stdin = _ClientStdin(sys.stdin.buffer, lambda: _client_gone(server))
        # pygls only calls readline and read; the resync keeps a broken header from
        # silencing the server for good.
        server.start_io(stdin=cast(BinaryIO, ResyncingStream(cast(BinaryIO, stdin))))
    return 0


def cmd_complete(args: argparse.Namespace) -> int:
    from ghostline.complete_cli import complete_at

    return asyncio.run(complete_at(args.location, model=args.model))


def cmd_doctor(args: argparse.Namespace) -> int:
    from ghostline.doctor import run_doctor

    return asyncio.run(run_doctor(model=args.model))


def cmd_demo(args: argparse.Namespace) -> int:
    from ghostline.demo import run_demo

    logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(run_demo())


def cmd_model(args: argparse.Namespace) -> int:
    """Print the packaged models' paths; with --assemble, assemble (and verify) the
    installed ones and measure their speed on this machine for the `auto` choice."""
    from ghostline.engine.model_choice import auto_models, measured_speeds
    from ghostline.engine.model_files import (
        ModelNotAvailable,
        packaged_installed,
        packaged_keys,
        packaged_model_path,
    )

    names = args.names or [key for key in packaged_keys() if packaged_installed(key)]
    if not names:
        print("error: no packaged model is installed: pip install 'ghostline[default-model]'",
              file=sys.stderr)
        return 1
    for name in names:
        try:
            print(f"{name}: {packaged_model_path(name, assemble=args.assemble)}")
        except ModelNotAvailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if args.assemble and not args.names:
        for speed in measured_speeds():
            print(f"{speed.key}: prompt {speed.prompt_tps:.0f} tok/s, "
                  f"decode {speed.decode_tps:.1f} tok/s on this machine")
        for feature, key in auto_models().items():
            print(f"{feature}: {key}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from ghostline.stats_cli import run_stats

    return run_stats(days=args.days, as_json=args.json, reset=args.reset,
                     settings=args.settings)


#: `ghostline bench SUITE`: the module whose `main(argv)` runs it.
BENCH_SUITES = {
    "latency": "ghostline.bench.latency",
    "index": "ghostline.bench.index",
    "quality": "ghostline.bench.quality",
    "backends": "ghostline.bench.backends",
    "hover": "ghostline.bench.docstring",
    "tests": "ghostline.bench.testgen",
    "load": "ghostline.bench.load",
    "speculative": "ghostline.bench.speculative",
    "next-line": "ghostline.bench.next_line",
}


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    module = importlib.import_module(BENCH_SUITES[args.suite])
    return int(module.main(args.rest) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ghostline", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=argparse.SUPPRESS, help="log level (stderr)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve", parents=[common], help="run the language server (stdio by default)"
    )
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--stdio", action="store_true", help="stdio (the default)")
    serve.set_defaults(func=cmd_serve)

    complete = sub.add_parser(
        "complete", parents=[common], help="print the suggestion at FILE:LINE:COL (1-based)"
    )
    complete.add_argument("location")
    complete.add_argument("--model", default="", help="GGUF file (default: packaged model)")
    complete.set_defaults(func=cmd_complete)

    doctor = sub.add_parser(
        "doctor", parents=[common], help="check the model, its template and the backend"
    )
    doctor.add_argument("--model", default="", help="GGUF file (default: packaged model)")
    doctor.set_defaults(func=cmd_doctor)

    demo = sub.add_parser(
        "demo", parents=[common], help="show completions through the real server, with timings"
    )
    demo.set_defaults(func=cmd_demo)

    model = sub.add_parser("model", parents=[common],
                           help="the packaged models: paths, assembly, speed on this machine")
    model.add_argument("names", nargs="*", help="packaged model names (default: all installed)")
    model.add_argument("--assemble", action="store_true",
                       help="assemble and verify them if missing, and measure their speed")
    model.set_defaults(func=cmd_model)

    stats = sub.add_parser("stats", parents=[common],
                           help="the local usage ledger: suggestions shown and accepted, "
                                "tokens, latency (nothing leaves this machine)")
    stats.add_argument("--days", type=int, default=7, help="the last N days (default 7)")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.add_argument("--reset", action="store_true", help="delete everything recorded")
    stats.add_argument("--settings", type=Path, default=None, metavar="FILE",
                       help="JSON settings with backends' pricePerMillionTokens (default: "
                            "~/.config/ghostline/settings.json if it exists)")
    stats.set_defaults(func=cmd_stats)

    bench = sub.add_parser(
        "bench", parents=[common], help="benchmarks: " + ", ".join(BENCH_SUITES)
    )
    bench.add_argument("suite", choices=list(BENCH_SUITES))
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
