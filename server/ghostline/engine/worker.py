"""The model worker: a subprocess that owns llama.cpp and streams tokens over a pipe.

Run as ``python -m ghostline.engine.worker --model PATH``. It reads frames (see
`protocol.py`) on stdin and writes frames on the original stdout; fd 1 is then pointed at
stderr so nothing llama.cpp prints can corrupt the protocol.

Why a hand-written decode loop instead of ``Llama.create_completion``: we need to stop
between any two tokens (cancel, deadline, stop strings), stop a prompt evaluation in its
middle (llama.cpp's abort callback, asked between graph nodes), report per-token
log-probabilities without ``logits_all`` (which would cost a vocabulary-sized row per prompt
token), and keep the KV cache across requests: the longest common token prefix with the
previous request is reused, including tokens generated last time (so typing through a
suggestion is cheap), and the prompts of other files are kept as snapshots
(`kv_snapshots`).
"""

from __future__ import annotations

import argparse
import codecs
import ctypes
import math
import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from ghostline.engine.kv_snapshots import PromptSnapshots
from ghostline.engine.lookup_draft import DraftLength, lookup_draft
from ghostline.engine.protocol import encode_frame, read_frame_sync

if TYPE_CHECKING:
    from ghostline.engine.draft_model import DraftModel

#: llama.cpp token attributes (llama_token_attr) that mark control / user-defined tokens.
ATTR_CONTROL = 1 << 3
ATTR_USER_DEFINED = 1 << 4

SELF_TEST_PROMPT = "def add(a, b):\n    return"
#: Logit bonus for tokens that spell the start of a preferred name (`preferred_first`), and
#: for how many generated tokens at most it applies. Large enough to act as a constraint
#: (logits span about 20; the values tried: docs/models.md).
PREFERRED_BIAS = 30.0
PREFERRED_TOKENS = 6
#: Prompt tokens per evaluation of background work: a cancel loses at most this many (the
#: cost of smaller slices: docs/latency.md).
BACKGROUND_CHUNK = 128
#: Logit penalty for the tokens that start an avoided first word (`avoid_first`): a ban.
AVOID_PENALTY = 100.0
#: Characters that may follow a complete preferred name inside the same token.
_NAME_ENDINGS = ("(", "()", "(self", ".", ",", ")", "[", ":", " ", " =", "\n", ";", "<")


@dataclass
class Job:
    id: int
    message: dict[str, Any]
    cancelled: threading.Event = field(default_factory=threading.Event)


class FrameWriter:
    """Thread-safe frame output on the protocol fd."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = encode_frame(message)
        with self._lock:
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, OSError):
                os._exit(0)  # the server is gone: nothing left to serve


class ModelRunner:
    """Owns one llama.cpp context and runs generations on it, one at a time."""

    def __init__(self, model_path: str, n_ctx: int, n_threads: int,
                 draft_model_path: str = "") -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self.llm = llama_cpp.Llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_threads=n_threads or (os.cpu_count() or 1),
            # The same for prompts and drafts: llama-cpp-python would use every core there,
            # whatever `threads` says (docs/latency.md, "Threads for prompts").
            n_threads_batch=n_threads or (os.cpu_count() or 1),
            n_batch=512,
            verbose=False,
        )
        self.snapshots = PromptSnapshots(self.llm, llama_cpp)
        self._vocab = self.llm._model.vocab
        self.n_vocab = self.llm.n_vocab()
        self._piece_buffer = ctypes.create_string_buffer(256)
        self.special_tokens = self._special_tokens()
        self._by_piece: dict[str, list[int]] | None = None
        self._running: Job | None = None
        self._install_abort_callback()
        #: A smaller model of the same vocabulary that drafts for speculative decoding
        #: (`engine/draft_model.py`); why it is not used when one was asked for.
        self.draft_model: DraftModel | None = None
        self.draft_model_error = ""
        if draft_model_path:
            self._load_draft_model(draft_model_path, n_ctx, n_threads)

    def _load_draft_model(self, path: str, n_ctx: int, n_threads: int) -> None:
        """Load the draft model, or keep serving without one and say why."""
        from ghostline.engine.draft_model import DraftModel

        threads = n_threads or (os.cpu_count() or 1)
        try:
            check_model_file(path, "draft model")
            draft = DraftModel(self._llama_cpp, path, n_ctx, threads)
            draft.check_serves(self.llm)
        except Exception as exc:  # a wrong draft model must not stop completions
            self.draft_model_error = str(exc) or type(exc).__name__
            return
        self.draft_model = draft

    def _install_abort_callback(self) -> None:
        """Let a cancel stop `llama_decode` itself, not only the loop between tokens.

        Prompts are then evaluated in full 512-token batches (slices between cancel checks
        cost prompt speed: docs/latency.md) and a cancel still lands within a graph node, a
        few milliseconds. llama.cpp drops the aborted batch's cache cells and
        llama-cpp-python keeps its token count, so the cache stays consistent.
        """
        lib = self._llama_cpp
        # Keep a reference (ctypes does not); look the method up per call so tests can wrap it.
        self._abort_callback = lib.ggml_abort_callback(lambda data: self._should_abort(data))
        set_abort = lib.llama_cpp._lib.llama_set_abort_callback
        set_abort.argtypes = [lib.llama_context_p_ctypes, lib.ggml_abort_callback,
                              ctypes.c_void_p]
        set_abort.restype = None
        set_abort(self.llm.ctx, self._abort_callback, None)

    def _should_abort(self, _data: Any) -> bool:
        job = self._running
        return job is not None and job.cancelled.is_set()

    def _eval(self, tokens: list[int], job: Job) -> bool:
        """Evaluate `tokens` for `job`; False if its cancel stopped the evaluation."""
        self._running = job
        try:
            self.llm.eval(tokens)
        except RuntimeError:
            if job.cancelled.is_set():
                return False  # llama_decode returned 2: aborted
            raise
        finally:
            self._running = None
        return True

    def _eval_rows(self, tokens: list[int], job: Job) -> list[Any] | None:
        """Evaluate ``tokens`` in one batch asking logits for each of them (a draft and the
        token before it; never the prompt's rows); their copies, or None when cancelled."""
        import numpy as np

        llm = self.llm
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        n_past = llm.n_tokens
        llm._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
        self._running = job
        try:
            llm._ctx.decode(llm._batch)
        except RuntimeError:
            if job.cancelled.is_set():
                return None
            raise
        finally:
            self._running = None
        llm.input_ids[n_past:n_past + len(tokens)] = tokens
        llm.n_tokens += len(tokens)
        get = self._llama_cpp.llama_get_logits_ith
        return [np.ctypeslib.as_array(get(llm.ctx, i), shape=(self.n_vocab,)).copy()
                for i in range(len(tokens))]

    # -- vocabulary -------------------------------------------------------------------

    def _special_tokens(self) -> list[str]:
        lib = self._llama_cpp
        found: list[str] = []
        for token in range(self.n_vocab):
            attr = lib.llama_vocab_get_attr(self._vocab, token)
            if attr & (ATTR_CONTROL | ATTR_USER_DEFINED):
                text = lib.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")
                if text.strip() and not text.startswith("<unused"):
                    found.append(text)
        return found

    def piece(self, token: int) -> bytes:
        n = self._llama_cpp.llama_token_to_piece(
            self._vocab, token, self._piece_buffer, len(self._piece_buffer), 0, False
        )
        return self._piece_buffer.raw[: max(n, 0)]

    def tokens_by_piece(self) -> dict[str, list[int]]:
        """Piece text -> token ids, built on first use (one pass over the vocabulary)."""
        if self._by_piece is None:
            table: dict[str, list[int]] = {}
            for token in range(self.n_vocab):
                text = self.piece(token).decode("utf-8", "ignore")
                if text:
                    table.setdefault(text, []).append(token)
            self._by_piece = table
        return self._by_piece

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def is_end_of_generation(self, token: int) -> bool:
        return bool(self._llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """Render chat messages with the model's own template, or plain text without one."""
        template = self.llm.metadata.get("tokenizer.chat_template")
        if template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            bos = self.llm._model.token_get_text(self.llm.token_bos())
            eos = self.llm._model.token_get_text(self.llm.token_eos())
            formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
            result = formatter(messages=messages)  # type: ignore[arg-type]
            prompt = result.prompt
            # The tokenizer adds BOS itself; do not double it.
            return prompt[len(bos) :] if bos and prompt.startswith(bos) else prompt
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join([*lines, "Assistant:"])

    # -- generation ---------------------------------------------------------------------

    def _logits(self) -> Any:
        import numpy as np

        pointer = self._llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))

    def _prefill(self, tokens: list[int], job: Job, reuse: bool = True) -> int | None:
        """Evaluate the prompt, reusing the cached prefix unless `reuse` is False (then the
        KV memory is cleared first, as in a new context). Returns the reused count.

        Background work (idle-time prefill) is evaluated in BACKGROUND_CHUNK slices: a cancel
        drops only the slice in progress, so what was read before it stays in the cache."""
        if reuse:
            # The context as it is, or a saved prompt of another file, whichever shares more.
            cached = self.snapshots.prepare(tokens)
            # The last prompt token is always evaluated again to get fresh logits.
            cached = min(cached, len(tokens) - 1)
        else:
            lib = self._llama_cpp
            lib.llama_memory_clear(lib.llama_get_memory(self.llm.ctx), True)
            cached = 0
        self.llm.n_tokens = cached
        step = BACKGROUND_CHUNK if job.message.get("background") else len(tokens)
        for start in range(cached, len(tokens), max(step, 1)):
            if job.cancelled.is_set() or not self._eval(tokens[start:start + step], job):
                return None
        return cached

    def generate(self, job: Job, send: FrameWriter) -> None:
        import numpy as np

        msg = job.message
        started = time.perf_counter()
        prompt = msg.get("prompt")
        if prompt is None:
            prompt = self.chat_prompt(msg.get("messages") or [])
        tokens = self.tokenize(prompt)
        max_tokens = int(msg.get("max_tokens", 64))
        n_ctx = self.llm.n_ctx()
        if len(tokens) + max_tokens > n_ctx:
            # Keep the end of the prompt (the cursor side) when it does not fit.
            tokens = tokens[: 1] + tokens[-(n_ctx - max_tokens - 1) :]
        temperature = float(msg.get("temperature", 0.0))
        stops: list[str] = [s for s in msg.get("stop", []) if s]
        time_limit = msg.get("time_limit_s")
        rng = np.random.default_rng()

        done = {"prompt_tokens": len(tokens), "cached_tokens": 0, "generated_tokens": 0}
        cached = self._prefill(tokens, job, reuse=bool(msg.get("reuse_cache", True)))
        if cached is None:
            send.send({"type": "done", "id": job.id, "reason": "cancelled", **done,
                       "total_s": time.perf_counter() - started})
            return
        done["cached_tokens"] = cached
        if msg.get("background") and msg.get("model_draft") and self.draft_model is not None:
            # Idle time: the draft model reads the prompt too, so the request that follows
            # gets drafts from its first token on.
            self.draft_model.catch_up(tokens, job.cancelled.is_set)
        # The limit is on generating, as llama-server's t_max_predict_ms: a prompt read
        # slowly (a busy machine) still gets its first line instead of nothing.
        deadline = time.perf_counter() + float(time_limit) if time_limit else math.inf

        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = ""
        first_token_s: float | None = None
        reason = "length"
        preferred = [p for p in msg.get("preferred_first") or [] if p]
        # A request may ask for a smaller bonus on the first token (a preference, not a
        # constraint); a name once started is finished with PREFERRED_BIAS.
        start_bonus = float(msg.get("preferred_bias") or PREFERRED_BIAS)
        avoid = [w for w in msg.get("avoid_first") or [] if w]
        indent_steps = 0
        # Speculative decoding (greedy only): drafts from the prompt (lookup) or from the
        # draft model; `drafts` were evaluated after the last chosen token and wait to be
        # confirmed; `rows` are the logits after each.
        lookup = bool(msg.get("lookup_draft", False))
        draft_model = self.draft_model if msg.get("model_draft") else None
        speculate = temperature <= 0 and (lookup or draft_model is not None)
        history = list(tokens)
        drafts: deque[int] = deque()
        rows: deque[Any] = deque()
        drafting = DraftLength()
        kept_of_draft = 0
        for step in range(max_tokens):
            if job.cancelled.is_set():
                reason = "cancelled"
                break
            if time.perf_counter() > deadline:
                reason = "time"
                break
            logits = rows.popleft() if rows else self._logits()
            bias: dict[int, float] = {}
            typed = text.lstrip(" \t")
            # Until the line has text, the biases wait while the model writes indentation.
            indenting = not typed and bool(preferred or avoid) and self._indents(logits)
            # A name may start within the first PREFERRED_TOKENS (after any indentation);
            # one that started is followed to its end.
            if preferred and (typed or step - indent_steps < PREFERRED_TOKENS):
                if indenting:
                    indent_steps += 1  # the model indents first: the name comes after
                else:
                    bias = preferred_bias(self.tokens_by_piece(), preferred, typed,
                                          PREFERRED_BIAS if typed else start_bonus)
                    if not bias:
                        preferred = []  # the text left the preferred names: stop biasing
            if avoid and not typed and not indenting:
                bias = {**bias, **avoid_penalty(self.tokens_by_piece(), avoid)}
            if bias:
                biased = logits.copy()
                for biased_token, bonus in bias.items():
                    biased[biased_token] += bonus
                token = self._pick(biased, temperature, rng)
            else:
                token = self._pick(logits, temperature, rng)
            if drafts:  # the token confirms the draft's next token, or ends the draft
                if token == drafts[0]:
                    drafts.popleft()
                    kept_of_draft += 1
                    if not drafts:
                        drafting.record(kept_of_draft, kept_of_draft)
                else:
                    drafting.record(kept_of_draft + len(drafts), kept_of_draft)
                    self.llm.n_tokens -= len(drafts)  # forget the rest of the draft
                    drafts.clear()
                    rows.clear()
            if self.is_end_of_generation(token):
                reason = "eos"
                break
            # From the unbiased logits: a forced, unlikely name gets a low confidence.
            logprob = _log_softmax_at(logits, token)
            piece = decoder.decode(self.piece(token))
            done["generated_tokens"] += 1
            history.append(token)
            if first_token_s is None:
                first_token_s = time.perf_counter() - started
            cut, hit = _cut_at_stop(text, piece, stops) if piece else ("", False)
            text += cut
            if cut:
                send.send({"type": "token", "id": job.id, "text": cut, "logprob": logprob})
            if hit:
                reason = "stop"
                break
            if step == max_tokens - 1:
                break  # nothing will read the logits of the last token: do not evaluate it
            if rows:
                continue  # the token was drafted and is evaluated already
            draft = (self._draft(history, min(drafting.length, max_tokens - step - 2),
                                 lookup, draft_model, job)
                     if speculate and not (preferred or avoid) and drafting.worth_it else [])
            # Evaluated after it was sent, so the editor sees each token one decode sooner.
            if draft:
                evaluated = self._eval_rows([token, *draft], job)
                if evaluated is None:
                    reason = "cancelled"
                    break
                rows.extend(evaluated)
                drafts.extend(draft)
                kept_of_draft = 0
            elif not self._eval([token], job):
                reason = "cancelled"
                break
        self.llm.n_tokens -= len(drafts)  # drafted past the end: not part of the text
        done["drafted_tokens"], done["kept_draft_tokens"] = drafting.drafted, drafting.kept
        send.send({"type": "done", "id": job.id, "reason": reason, **done,
                   "first_token_s": first_token_s, "total_s": time.perf_counter() - started})

    @staticmethod
    def _draft(history: list[int], length: int, lookup: bool, draft_model: DraftModel | None,
               job: Job) -> list[int]:
        """The next draft: the prompt's own continuation where the text repeats (free),
        else the draft model's guess."""
        found = lookup_draft(history, length) if lookup else []
        if not found and draft_model is not None:
            found = draft_model.draft(history, length, job.cancelled.is_set)
        return found

    def _indents(self, logits: Any) -> bool:
        """Whether the model's own choice is a piece of indentation (spaces or tabs)."""
        import numpy as np

        piece = self.piece(int(np.argmax(logits)))
        return bool(piece) and not piece.strip(b" \t")

    @staticmethod
    def _pick(logits: Any, temperature: float, rng: Any) -> int:
        import numpy as np

        if temperature <= 0:
            return int(np.argmax(logits))
        scaled = logits.astype(np.float64) / temperature
        top = np.argpartition(scaled, -40)[-40:]
        weights = np.exp(scaled[top] - scaled[top].max())
        weights /= weights.sum()
        return int(rng.choice(top, p=weights))

    def self_test(self) -> str:
        """Complete a canned snippet: the answer must be code and leak no template tokens."""
        job = Job(id=-1, message={"prompt": SELF_TEST_PROMPT, "max_tokens": 8, "stop": ["\n"]})
        collected: list[str] = []

        class Collector(FrameWriter):
            def __init__(self) -> None:
                pass

            def send(self, message: dict[str, Any]) -> None:
                if message["type"] == "token":
                    collected.append(message["text"])

        self.generate(job, Collector())
        answer = "".join(collected)
        self.llm.n_tokens = 0  # do not keep the canned prompt in the cache
        leaked = [t for t in self.special_tokens if t and t in answer]
        if leaked:
            return f"failed: the model's answer leaks template tokens {leaked[:3]}"
        if not any(name in answer for name in ("a", "b")):
            return (f"failed: the model answered {answer!r} to {SELF_TEST_PROMPT!r}; "
                    "it does not complete code (an instruction/chat model?)")
        return "ok"


def preferred_bias(
    by_piece: dict[str, list[int]], preferred: list[str], typed: str,
    bonus: float = PREFERRED_BIAS,
) -> dict[int, float]:
    """Logit bonuses for the tokens that continue `typed` (the text generated so far) into
    one of the `preferred` names, or finish one and go on with punctuation. Empty once
    `typed` is no longer the start of a preferred name (or completes one)."""
    bias: dict[int, float] = {}
    for name in preferred:
        if not name.startswith(typed) or len(name) == len(typed):
            continue
        rest = name[len(typed):]
        pieces = [rest[:end] for end in range(1, len(rest) + 1)]
        pieces += [rest + ending for ending in _NAME_ENDINGS]
        for piece in pieces:
            for token in by_piece.get(piece, ()):
                bias[token] = bonus
    return bias


def avoid_penalty(by_piece: dict[str, list[int]], avoid: list[str]) -> dict[int, float]:
    """Penalties for the tokens that start one of the `avoid` words: the word itself, or its
    first three characters or more (so the model cannot spell it another way), with or
    without a leading space."""
    penalty: dict[int, float] = {}
    for word in avoid:
        for end in range(min(3, len(word)), len(word) + 1):
            for piece in (word[:end], " " + word[:end]):
                for token in by_piece.get(piece, ()):
                    penalty[token] = -AVOID_PENALTY
    return penalty


def _log_softmax_at(logits: Any, token: int) -> float:
    import numpy as np

    top = float(logits.max())
    return float(logits[token] - top - math.log(float(np.exp(logits - top).sum())))


def _cut_at_stop(text: str, piece: str, stops: list[str]) -> tuple[str, bool]:
    """Return the part of `piece` before the first stop string, and whether one was hit."""
    combined = text + piece
    best: int | None = None
    for stop in stops:
        index = combined.find(stop, max(0, len(text) - len(stop) + 1))
        if index != -1 and (best is None or index < best):
            best = index
    if best is None:
        return piece, False
    return combined[len(text) : best] if best > len(text) else "", True


def _reader(stream: BinaryIO, jobs: queue.Queue[Job | None], live: dict[int, Job]) -> None:
    """Read frames; cancels act at once, work goes to the queue."""
    while True:
        try:
            message = read_frame_sync(stream)
        except Exception as exc:  # a broken pipe or garbage: stop serving
            print(f"ghostline worker: bad frame: {exc}", file=sys.stderr)
            message = None
        if message is None or message.get("type") == "shutdown":
            os._exit(0)
        kind = message.get("type")
        if kind == "cancel":
            job = live.get(int(message.get("id", -1)))
            if job is not None:
                job.cancelled.set()
            continue
        job = Job(id=int(message.get("id", 0)), message=message)
        live[job.id] = job
        jobs.put(job)


def check_model_file(path: str, what: str = "model") -> None:
    """Raise a clear error unless `path` is a GGUF file (before llama.cpp reads it)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} file not found: {path}")
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"not a GGUF file: {path}")


def serve(args: argparse.Namespace) -> None:
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything printed from now on (llama.cpp, Python) goes to stderr
    send = FrameWriter(protocol_out)
    started = time.perf_counter()
    # Read stdin from the start: if the server goes away while the model loads, the end of
    # the stream ends this process at once instead of after the load and the self-test.
    jobs: queue.Queue[Job | None] = queue.Queue()
    live: dict[int, Job] = {}
    threading.Thread(target=_reader, args=(sys.stdin.buffer, jobs, live), daemon=True).start()
    try:
        check_model_file(args.model)
        runner = ModelRunner(args.model, args.n_ctx, args.threads, args.draft_model)
    except Exception as exc:
        send.send({"type": "load_error", "message": str(exc) or type(exc).__name__})
        return
    metadata = {k: v for k, v in runner.llm.metadata.items() if len(v) < 4096}
    self_test = runner.self_test() if args.self_test else "not run"
    send.send({
        "type": "ready",
        "info": {
            "name": metadata.get("general.name", os.path.basename(args.model)),
            "path": args.model,
            "context_size": runner.llm.n_ctx(),
            "special_tokens": runner.special_tokens,
            "metadata": metadata,
            "has_chat_template": "tokenizer.chat_template" in runner.llm.metadata,
            "self_test": self_test,
            "load_s": time.perf_counter() - started,
            "draft_model": (runner.draft_model.path if runner.draft_model is not None
                            else ""),
            "draft_model_error": runner.draft_model_error,
        },
    })

    while True:
        job = jobs.get()
        if job is None:
            return
        try:
            kind = job.message.get("type")
            if kind == "generate":
                if job.cancelled.is_set():
                    send.send({"type": "done", "id": job.id, "reason": "cancelled"})
                else:
                    runner.generate(job, send)
            elif kind == "tokenize":
                count = len(runner.tokenize(job.message.get("text", "")))
                send.send({"type": "tokens", "id": job.id, "count": count})
            else:
                send.send({"type": "error", "id": job.id, "message": f"unknown request {kind}"})
        except Exception as exc:
            send.send({"type": "error", "id": job.id, "message": f"{type(exc).__name__}: {exc}"})
        finally:
            live.pop(job.id, None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Ghostline model worker (speaks frames)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--no-self-test", dest="self_test", action="store_false")
    parser.add_argument("--draft-model", default="",
                        help="a GGUF of the same vocabulary that drafts for speculative decoding")
    serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
