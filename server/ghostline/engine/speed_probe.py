"""Measure one model's prompt and decode speed on this machine (run as a subprocess).

``python -m ghostline.engine.speed_probe MODEL_PATH [--threads N]`` prints one JSON line:
``{"prompt_tps": …, "decode_tps": …}``. It runs in its own process so a native crash, or
the memory of a model that is only being measured, never touches the server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

#: Tokens of the timed prompt, and of the timed decode (greedy, one token at a time).
PROMPT_TOKENS = 512
DECODE_TOKENS = 24
#: Code-like text repeated to the prompt's length (the content barely matters for speed).
_TEXT = ("def total(items, tax_rate=0.2):\n    subtotal = sum(item.price * item.quantity "
         "for item in items)\n    return round(subtotal * (1 + tax_rate), 2)\n\n")


def measure(model_path: str, threads: int) -> dict[str, float]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=model_path, n_ctx=1024, n_batch=512,
                          n_threads=threads or None, verbose=False)
    tokens = llm.tokenize((_TEXT * 40).encode(), add_bos=False)[:PROMPT_TOKENS]
    llm.eval(tokens[:8])  # warm-up: the first evaluation pays one-time set-up
    llm.reset()
    started = time.perf_counter()
    llm.eval(tokens)
    prompt_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(DECODE_TOKENS):
        token = int(llm.sample(temp=0.0))
        llm.eval([token])
    decode_s = time.perf_counter() - started
    return {"prompt_tps": len(tokens) / prompt_s, "decode_tps": DECODE_TOKENS / decode_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever llama.cpp prints goes to stderr
    result = measure(args.model, args.threads)
    protocol.write(json.dumps(result) + "\n")
    protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
