"""Fill-in-the-middle prompt templates per model family, chosen from the GGUF vocabulary.

A template turns (prefix, suffix, cross-file snippets) into the prompt text the model was
trained on. The text contains the special tokens literally and must be tokenized with
``special=True``. Models without FIM tokens (the default Gemma 3 270M) get the ``none``
template: the context header plus the prefix, so the suffix can only steer post-processing.

Cross-file snippets go first so the stable part of the prompt keeps the KV cache warm while
the user types. Repo-level models (Qwen2.5-Coder, StarCoder2, CodeGemma) get their trained
file-separator format; the others get the snippets as comments in the current file's syntax.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ghostline.engine import model_catalog
from ghostline.engine.base import ModelInfo

from .text import comment_out

__all__ = [
    "TEMPLATES",
    "ContextStyle",
    "FimTemplate",
    "detect_template",
    "template_by_name",
    "template_for_model",
]

#: How cross-file snippets and the current file's path are written into the prompt.
#: ``comment``: a ``Path:`` header and every line commented out (Continue's style);
#: ``path_comment``: a path comment, then the raw code (DeepSeek-Coder's repo-level format);
#: ``qwen``: ``<|repo_name|>repo\n<|file_sep|>path\ncode`` (Qwen2.5-Coder);
#: ``starcoder2``: ``<repo_name>repo<file_sep>path\ncode``, the current path inside the prefix;
#: ``codegemma``: ``<|file_separator|>path\ncode``.
ContextStyle = Literal["comment", "path_comment", "qwen", "starcoder2", "codegemma"]


@dataclass(frozen=True)
class FimTemplate:
    """One model family's FIM format. Token strings are exactly as they appear in the prompt."""

    name: str
    prefix_token: str = ""
    suffix_token: str = ""
    middle_token: str = ""
    suffix_first: bool = False
    repo_name_token: str | None = None
    file_sep_token: str | None = None
    stop_tokens: tuple[str, ...] = ()
    file_context: ContextStyle = "comment"
    #: Whether completion prompts show other files' code (off for a model it does not help).
    uses_context: bool = True
    #: Comment-style context goes inside the FIM prefix (after the prefix token), where
    #: the model reads it as the top of the current file, instead of before it.
    context_in_prefix: bool = False
    #: The cursor line's text before the cursor goes after the middle token, as the start
    #: of the middle (llama-server's ``/infill`` ``prompt`` field, llama.vim's layout): the
    #: prompt up to the middle token then stays the same while the user types on one line,
    #: so the KV cache keeps the suffix and a keystroke re-reads only what was typed.
    #: Measured per family (docs/latency.md) before it is turned on.
    line_in_middle: bool = False

    @property
    def has_fim(self) -> bool:
        """False for the prefix-only ``none`` template."""
        return bool(self.prefix_token)

    @property
    def markers(self) -> tuple[str, ...]:
        """Every template string that must never reach the user (for cleanup and stops)."""
        raw = (
            self.prefix_token,
            self.suffix_token,
            self.middle_token,
            self.repo_name_token or "",
            self.file_sep_token or "",
            *self.stop_tokens,
        )
        return tuple(dict.fromkeys(t.strip() for t in raw if t.strip()))

    def build(
        self,
        prefix: str,
        suffix: str,
        *,
        extra_files: Sequence[tuple[str, str]] = (),
        path: str = "",
        repo_name: str = "",
        line_comment: str = "#",
    ) -> str:
        """Return the whole prompt for a cursor between ``prefix`` and ``suffix``.

        ``extra_files`` are ``(path, text)`` snippets of other files, most relevant last.
        ``line_comment`` is the current language's line comment (``""`` when it has none:
        then comment-style snippets are left out). The current ``path`` is written only
        where the format has a place for it or when snippets need a separator.
        """
        head = self._context(extra_files, path, repo_name, line_comment)
        if not self.has_fim:
            return head + prefix
        if self.suffix_first and self.middle_token:
            # Suffix-prefix-middle with a middle token (an SPM order for a PSM-trained
            # family, measured in docs/latency.md): the context stays first, where the
            # KV cache keeps it.
            return (f"{head}{self.suffix_token}{suffix}{self.prefix_token}{prefix}"
                    f"{self.middle_token}")
        if self.suffix_first:
            return f"{self.suffix_token}{suffix}{self.prefix_token}{head}{prefix}"
        if self.file_context == "starcoder2" and (extra_files or path):
            # StarCoder2 puts the current file's path right after <fim_prefix>.
            return (
                f"{head}{self.prefix_token}{path}\n{prefix}"
                f"{self.suffix_token}{suffix}{self.middle_token}"
            )
        line_start = ""
        if self.line_in_middle:
            cut = prefix.rfind("\n") + 1
            prefix, line_start = prefix[:cut], prefix[cut:]
        middle = f"{self.suffix_token}{suffix}{self.middle_token}{line_start}"
        if self.context_in_prefix:
            return f"{self.prefix_token}{head}{prefix}{middle}"
        return f"{head}{self.prefix_token}{prefix}{middle}"

    def _context(
        self,
        extra_files: Sequence[tuple[str, str]],
        path: str,
        repo_name: str,
        line_comment: str,
    ) -> str:
        style = self.file_context
        if style in ("qwen", "starcoder2", "codegemma") and self.file_sep_token:
            if not extra_files and (not path or style == "qwen"):
                # Qwen2.5-Coder-0.5B-Instruct, shown a repo-level header with no other
                # file in it, ignores the suffix (HumanEval single-line: 36 EM where the
                # plain FIM prompt gives 46); llama-server's /infill writes none either.
                return ""
            return _repo_context(self, extra_files, path, repo_name or "workspace")
        if not extra_files or not line_comment:
            return ""
        parts: list[str] = []
        for file_path, text in extra_files:
            if style == "path_comment":
                parts.append(f"{line_comment} {file_path}\n{_with_newline(text)}")
            else:
                parts.append(f"{line_comment} Path: {file_path}\n")
                parts.append(comment_out(text, line_comment))
        if path:
            label = "" if style == "path_comment" else "Path: "
            parts.append(f"{line_comment} {label}{path}\n")
        return "".join(parts)


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _repo_context(
    template: FimTemplate, extra_files: Sequence[tuple[str, str]], path: str, repo_name: str
) -> str:
    sep = template.file_sep_token or ""
    parts: list[str] = []
    if template.file_context == "qwen" and template.repo_name_token:
        parts.append(f"{template.repo_name_token}{repo_name}\n")
    elif template.file_context == "starcoder2" and template.repo_name_token:
        parts.append(f"{template.repo_name_token}{repo_name}")
    for file_path, text in extra_files:
        body = _with_newline(text) if template.file_context != "starcoder2" else text
        parts.append(f"{sep}{file_path}\n{body}")
    if template.file_context == "starcoder2":
        parts.append(sep)  # the path follows <fim_prefix>
    else:
        parts.append(f"{sep}{path or 'untitled'}\n")
    return "".join(parts)


_QWEN_STOPS = (
    "<|endoftext|>",
    "<|fim_pad|>",
    "<|file_sep|>",
    "<|repo_name|>",
    "<|im_end|>",
    "<|im_start|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
)
_STARCODER_STOPS = (
    "<|endoftext|>",
    "<fim_pad>",
    "<file_sep>",
    "<repo_name>",
    "<filename>",
    "<fim_prefix>",
    "<fim_suffix>",
    "<fim_middle>",
)

TEMPLATES: Mapping[str, FimTemplate] = {
    t.name: t
    for t in (
        FimTemplate(
            name="qwen2.5-coder",
            prefix_token="<|fim_prefix|>",
            suffix_token="<|fim_suffix|>",
            middle_token="<|fim_middle|>",
            repo_name_token="<|repo_name|>",
            file_sep_token="<|file_sep|>",
            stop_tokens=_QWEN_STOPS,
            file_context="qwen",
        ),
        FimTemplate(
            name="starcoder2",
            prefix_token="<fim_prefix>",
            suffix_token="<fim_suffix>",
            middle_token="<fim_middle>",
            repo_name_token="<repo_name>",
            file_sep_token="<file_sep>",
            stop_tokens=_STARCODER_STOPS,
            file_context="starcoder2",
        ),
        FimTemplate(
            name="starcoder",
            prefix_token="<fim_prefix>",
            suffix_token="<fim_suffix>",
            middle_token="<fim_middle>",
            stop_tokens=_STARCODER_STOPS,
        ),
        FimTemplate(
            name="santacoder",
            prefix_token="<fim-prefix>",
            suffix_token="<fim-suffix>",
            middle_token="<fim-middle>",
            stop_tokens=("<|endoftext|>", "<fim-pad>", "<fim-prefix>", "<fim-suffix>"),
        ),
        # "<PRE> {pre} <SUF>{suf} <MID>" as in the Code Llama paper and llama.cpp's examples.
        FimTemplate(
            name="codellama",
            prefix_token="<PRE> ",
            suffix_token=" <SUF>",
            middle_token=" <MID>",
            stop_tokens=("<EOT>", "</s>", "<PRE>", "<SUF>", "<MID>"),
        ),
        FimTemplate(
            name="deepseek-coder",
            prefix_token="<｜fim▁begin｜>",
            suffix_token="<｜fim▁hole｜>",
            middle_token="<｜fim▁end｜>",
            stop_tokens=(
                "<｜end▁of▁sentence｜>",
                "<|EOT|>",
                "<｜fim▁begin｜>",
                "<｜fim▁hole｜>",
                "<｜fim▁end｜>",
            ),
            file_context="path_comment",
        ),
        FimTemplate(
            name="codegemma",
            prefix_token="<|fim_prefix|>",
            suffix_token="<|fim_suffix|>",
            middle_token="<|fim_middle|>",
            file_sep_token="<|file_separator|>",
            stop_tokens=(
                "<|file_separator|>",
                "<eos>",
                "<end_of_turn>",
                "<|fim_prefix|>",
                "<|fim_suffix|>",
                "<|fim_middle|>",
            ),
            file_context="codegemma",
        ),
        # Codestral / Mistral: "[SUFFIX]{suf}[PREFIX]{pre}" (mistral-common's encode_fim).
        FimTemplate(
            name="codestral",
            prefix_token="[PREFIX]",
            suffix_token="[SUFFIX]",
            suffix_first=True,
            stop_tokens=("</s>", "[PREFIX]", "[SUFFIX]", "[MIDDLE]", "[INST]"),
        ),
        FimTemplate(
            name="none",
            stop_tokens=(
                "<eos>",
                "<end_of_turn>",
                "<start_of_turn>",
                "<|endoftext|>",
                "<|im_end|>",
                "<|im_start|>",
                "<|eot_id|>",
                "<|end|>",
            ),
        ),
    )
}

_ALIASES = {
    "qwen": "qwen2.5-coder",
    "qwen2.5": "qwen2.5-coder",
    "qwen2": "qwen2.5-coder",
    "qwen-coder": "qwen2.5-coder",
    "starcoder1": "starcoder",
    "granite": "starcoder",
    "code-llama": "codellama",
    "llama": "codellama",
    "deepseek": "deepseek-coder",
    "mistral": "codestral",
    "prefix": "none",
    "prefix-only": "none",
}


def template_by_name(name: str) -> FimTemplate:
    """The template a user override names (case-insensitive, a few aliases); ValueError else."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return TEMPLATES[key]
    except KeyError:
        known = ", ".join(sorted(TEMPLATES))
        raise ValueError(f"unknown FIM template {name!r}; known: {known}") from None


def template_for_model(info: ModelInfo) -> FimTemplate:
    """`detect_template` for a loaded model, with what is known of the packaged models
    (the 0.5B Qwen completes better without other files' code: docs/models.md)."""
    template = detect_template(info.special_tokens, info.metadata)
    packaged = model_catalog.for_file(info.path)
    if packaged is not None and not packaged.cross_file_context:
        template = replace(template, uses_context=False)
    return template


def detect_template(special_tokens: Collection[str], metadata: Mapping[str, Any]) -> FimTemplate:
    """Pick the template from the vocabulary's special token strings and GGUF metadata.

    ``metadata`` may come from ``read_gguf_vocabulary`` (its ``ghostline.token.*`` keys name the
    FIM tokens a GGUF declares by id) or be any GGUF key/value mapping. Unknown -> ``none``.
    The eos/eot token texts the metadata names are added to the stop tokens.
    """
    vocab = set(special_tokens)
    arch = str(metadata.get("general.architecture", "")).lower()
    family = _family(vocab, arch, metadata)
    return _with_model_stops(family, vocab, metadata)


def _family(vocab: set[str], arch: str, metadata: Mapping[str, Any]) -> FimTemplate:
    if "[SUFFIX]" in vocab and "[PREFIX]" in vocab:
        return TEMPLATES["codestral"]
    if "<｜fim▁begin｜>" in vocab and "<｜fim▁hole｜>" in vocab:
        return TEMPLATES["deepseek-coder"]
    if "<|fim_prefix|>" in vocab:
        # CodeGemma and Qwen share the FIM token names; CodeGemma alone has a file separator.
        if "<|file_separator|>" in vocab or arch.startswith("gemma"):
            return TEMPLATES["codegemma"]
        qwen = TEMPLATES["qwen2.5-coder"]
        if "<|repo_name|>" in vocab and "<|file_sep|>" in vocab:
            return qwen
        return replace(qwen, repo_name_token=None, file_sep_token=None, file_context="comment")
    if "<fim_prefix>" in vocab:
        if "<repo_name>" in vocab and "<file_sep>" in vocab:
            return TEMPLATES["starcoder2"]
        return TEMPLATES["starcoder"]
    if "<fim-prefix>" in vocab:
        return TEMPLATES["santacoder"]
    if "<PRE>" in vocab or "▁<PRE>" in vocab:
        if "<PRE>" in vocab:
            return TEMPLATES["codellama"]
        # SentencePiece GGUFs keep the word-boundary mark in the token text; llama.cpp matches
        # special tokens by that exact text and adds the space before the prefix itself.
        return replace(
            TEMPLATES["codellama"],
            prefix_token="▁<PRE>",
            suffix_token="▁<SUF>",
            middle_token="▁<MID>",
            stop_tokens=("<EOT>", "▁<EOT>", "</s>", "<PRE>", "<SUF>", "<MID>"),
        )
    return _from_metadata_ids(metadata) or TEMPLATES["none"]


def _token_text(metadata: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = metadata.get(f"ghostline.token.{name}")
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _from_metadata_ids(metadata: Mapping[str, Any]) -> FimTemplate | None:
    """A prefix-first template from FIM token ids the GGUF declares (an unknown family)."""
    pre = _token_text(metadata, "fim_pre", "prefix")
    suf = _token_text(metadata, "fim_suf", "suffix")
    mid = _token_text(metadata, "fim_mid", "middle")
    if not (pre and suf and mid):
        return None
    stops = tuple(
        t for t in (_token_text(metadata, "fim_pad"), _token_text(metadata, "fim_sep")) if t
    )
    return FimTemplate(
        name="gguf-fim",
        prefix_token=pre,
        suffix_token=suf,
        middle_token=mid,
        stop_tokens=(*stops, pre, suf, mid),
    )


def _with_model_stops(
    template: FimTemplate, vocab: set[str], metadata: Mapping[str, Any]
) -> FimTemplate:
    stops = list(template.stop_tokens)
    if template.name == "none" and vocab:
        # Generic end markers only where this vocabulary has them.
        stops = [t for t in stops if t in vocab]
    for name in ("eot", "eos", "eom"):
        text = _token_text(metadata, name)
        if text and text not in stops:
            stops.append(text)
    return replace(template, stop_tokens=tuple(stops))
