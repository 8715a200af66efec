"""FIM templates: exact prompt text per family, detection from real vocabularies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ghostline.prompts.fim import TEMPLATES, FimTemplate, detect_template, template_by_name

from . import vocabularies as v

PRE = "def add(a, b):\n    return "
SUF = "\n\nprint(add(1, 2))\n"


def _detect(tokens: list[str], meta: dict[str, Any]) -> FimTemplate:
    return detect_template(tokens, meta)


LINE_START = "    return "  # the cursor line's text before the cursor (the end of PRE)
ABOVE = PRE[: -len(LINE_START)]
LINE_LAYOUT = replace(template_by_name("qwen2.5-coder"), line_in_middle=True)


def test_qwen_plain_fim_prompt_is_the_documented_psm_format() -> None:
    t = template_by_name("qwen2.5-coder")
    assert t.build(PRE, SUF) == f"<|fim_prefix|>{PRE}<|fim_suffix|>{SUF}<|fim_middle|>"


def test_line_in_middle_puts_the_cursor_line_after_the_middle_token() -> None:
    """The same PSM text with the middle's first characters given: the part before the
    middle token does not change while the user types on the line."""
    t = LINE_LAYOUT
    prompt = t.build(PRE, SUF)
    assert prompt == f"<|fim_prefix|>{ABOVE}<|fim_suffix|>{SUF}<|fim_middle|>{LINE_START}"
    typed = t.build(PRE + "a +", SUF)
    stable = prompt[: prompt.index("<|fim_middle|>")]
    assert typed.startswith(stable + "<|fim_middle|>")
    assert typed.endswith("<|fim_middle|>    return a +")


def test_line_in_middle_at_a_line_start_and_on_the_first_line() -> None:
    t = LINE_LAYOUT
    assert t.build("x = 1\n", "y\n").endswith("<|fim_suffix|>y\n<|fim_middle|>")
    assert t.build("import o", "") == "<|fim_prefix|><|fim_suffix|><|fim_middle|>import o"


def test_suffix_first_with_a_middle_token_keeps_other_files_first() -> None:
    """The SPM order measured for Qwen (`bench quality --fim-layout spm`, docs/latency.md):
    the suffix, then the prefix and the middle token, other files' code still first."""
    t = replace(template_by_name("qwen2.5-coder"), suffix_first=True)
    assert t.build(PRE, SUF) == f"<|fim_suffix|>{SUF}<|fim_prefix|>{PRE}<|fim_middle|>"
    prompt = t.build(PRE, SUF, extra_files=[("lib/util.py", "x = 1")], path="app/main.py",
                     repo_name="demo")
    assert prompt.startswith("<|repo_name|>demo\n<|file_sep|>lib/util.py\nx = 1\n")
    assert prompt.endswith(f"<|file_sep|>app/main.py\n<|fim_suffix|>{SUF}<|fim_prefix|>"
                           f"{PRE}<|fim_middle|>")


def test_qwen_repo_level_prompt_puts_other_files_first() -> None:
    t = template_by_name("qwen")
    prompt = t.build(
        PRE,
        SUF,
        extra_files=[("lib/util.py", "def helper():\n    pass")],
        path="app/main.py",
        repo_name="demo",
    )
    assert prompt == (
        "<|repo_name|>demo\n"
        "<|file_sep|>lib/util.py\ndef helper():\n    pass\n"
        "<|file_sep|>app/main.py\n"
        f"<|fim_prefix|>{PRE}<|fim_suffix|>{SUF}<|fim_middle|>"
    )


def test_starcoder2_repo_level_prompt_has_path_inside_prefix() -> None:
    t = template_by_name("starcoder2")
    prompt = t.build(PRE, SUF, extra_files=[("u.py", "X = 1\n")], path="m.py", repo_name="r")
    assert prompt == (
        "<repo_name>r<file_sep>u.py\nX = 1\n<file_sep>"
        f"<fim_prefix>m.py\n{PRE}<fim_suffix>{SUF}<fim_middle>"
    )
    assert t.build(PRE, SUF) == f"<fim_prefix>{PRE}<fim_suffix>{SUF}<fim_middle>"


def test_codellama_spacing_follows_the_paper() -> None:
    t = template_by_name("codellama")
    assert t.build("x = ", "\ny = 2") == "<PRE> x =  <SUF>\ny = 2 <MID>"


def test_deepseek_uses_fullwidth_bar_tokens_and_path_comments() -> None:
    t = template_by_name("deepseek-coder")
    assert t.build(PRE, SUF) == f"<｜fim▁begin｜>{PRE}<｜fim▁hole｜>{SUF}<｜fim▁end｜>"
    prompt = t.build("x", "", extra_files=[("utils.py", "import os")], path="main.py")
    assert prompt.startswith("# utils.py\nimport os\n# main.py\n<｜fim▁begin｜>x")


def test_codegemma_prompt_and_file_separator() -> None:
    t = template_by_name("codegemma")
    assert t.build("import ", "\nx") == "<|fim_prefix|>import <|fim_suffix|>\nx<|fim_middle|>"
    prompt = t.build("a", "b", extra_files=[("o.py", "Y = 2")], path="c.py")
    assert prompt == (
        "<|file_separator|>o.py\nY = 2\n<|file_separator|>c.py\n"
        "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"
    )
    assert "<|file_separator|>" in t.stop_tokens


def test_codestral_is_suffix_first_with_context_after_prefix_token() -> None:
    t = template_by_name("mistral")
    assert t.suffix_first
    assert t.build(PRE, SUF) == f"[SUFFIX]{SUF}[PREFIX]{PRE}"
    prompt = t.build("x", "y", extra_files=[("a.py", "A = 1")], line_comment="#")
    assert prompt == "[SUFFIX]y[PREFIX]# Path: a.py\n# A = 1\nx"


def test_none_template_returns_context_and_prefix_only() -> None:
    t = template_by_name("none")
    assert not t.has_fim
    assert t.build(PRE, SUF) == PRE
    prompt = t.build(
        "let x = ",
        ";",
        extra_files=[("lib.js", "export function f() {\n\n  return 1;\n}\n")],
        path="main.js",
        line_comment="//",
    )
    assert prompt == (
        "// Path: lib.js\n// export function f() {\n//\n//   return 1;\n// }\n"
        "// Path: main.js\nlet x = "
    )


def test_snippets_dropped_when_language_has_no_line_comment() -> None:
    t = template_by_name("none")
    assert t.build("<p>", "", extra_files=[("a.html", "<b>")], line_comment="") == "<p>"


def test_santacoder_tokens_use_dashes() -> None:
    prompt = template_by_name("santacoder").build("a", "b")
    assert prompt == "<fim-prefix>a<fim-suffix>b<fim-middle>"


def test_template_by_name_unknown_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"qwen2\.5-coder"):
        template_by_name("gpt-9")
    assert template_by_name("  QWEN2.5-Coder ") is TEMPLATES["qwen2.5-coder"]


def test_markers_cover_template_and_stop_tokens_without_spaces() -> None:
    markers = template_by_name("codellama").markers
    assert "<PRE>" in markers and "<SUF>" in markers and "<EOT>" in markers
    assert all(m == m.strip() for m in markers)


@pytest.mark.parametrize(
    ("tokens", "meta", "expected"),
    [
        (v.QWEN25_CODER, v.QWEN25_CODER_META, "qwen2.5-coder"),
        (v.STARCODER2, v.STARCODER2_META, "starcoder2"),
        (v.STARCODER1, v.STARCODER1_META, "starcoder"),
        (v.DEEPSEEK_CODER, v.DEEPSEEK_CODER_META, "deepseek-coder"),
        (v.CODEGEMMA, v.CODEGEMMA_META, "codegemma"),
        (v.CODELLAMA, v.CODELLAMA_META, "codellama"),
        (v.CODESTRAL, v.CODESTRAL_META, "codestral"),
        (v.GEMMA3, v.GEMMA3_META, "none"),
        (v.SMOLLM2, v.SMOLLM2_META, "none"),
        ([], {}, "none"),
    ],
)
def test_detection_on_real_vocabularies(
    tokens: list[str], meta: dict[str, Any], expected: str
) -> None:
    assert _detect(tokens, meta).name == expected


def test_qwen_and_codegemma_share_fim_tokens_but_differ() -> None:
    shared = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]
    assert _detect([*shared, "<|file_separator|>"], {}).name == "codegemma"
    assert _detect([*shared, "<|endoftext|>", "<|repo_name|>", "<|file_sep|>"], {}).name == (
        "qwen2.5-coder"
    )
    # No file separator in the vocabulary, but the architecture says Gemma.
    assert _detect(shared, {"general.architecture": "gemma"}).name == "codegemma"


def test_qwen_without_repo_tokens_falls_back_to_comment_context() -> None:
    t = _detect(["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>"], {})
    assert t.name == "qwen2.5-coder" and t.file_sep_token is None
    assert t.build("x", "", extra_files=[("a.py", "A")]).startswith("# Path: a.py\n# A\n")


def test_codellama_sentencepiece_variant_uses_vocab_text() -> None:
    t = _detect(v.CODELLAMA, v.CODELLAMA_META)
    assert t.build("x", "y") == "▁<PRE>x▁<SUF>y▁<MID>"
    assert "▁<EOT>" in t.stop_tokens
    plain = _detect(["<PRE>", "<SUF>", "<MID>", "<EOT>"], {})
    assert plain.build("x", "y") == "<PRE> x <SUF>y <MID>"


def test_unknown_family_with_fim_ids_in_metadata() -> None:
    meta = {
        "ghostline.token.fim_pre": "<|code_prefix|>",
        "ghostline.token.fim_suf": "<|code_suffix|>",
        "ghostline.token.fim_mid": "<|code_middle|>",
        "ghostline.token.eos": "<|end|>",
    }
    t = _detect(["<|code_prefix|>", "<|code_suffix|>", "<|code_middle|>", "<|end|>"], meta)
    assert t.name == "gguf-fim"
    assert t.build("a", "b") == "<|code_prefix|>a<|code_suffix|>b<|code_middle|>"
    assert "<|end|>" in t.stop_tokens


def test_none_stops_are_filtered_by_vocabulary_and_include_eos() -> None:
    t = _detect(v.GEMMA3, v.GEMMA3_META)
    assert "<eos>" in t.stop_tokens and "<end_of_turn>" in t.stop_tokens
    assert "<|im_end|>" not in t.stop_tokens
    # Gemma's vocabulary has "</s>" as an HTML tag: it must not stop generation.
    assert "</s>" not in t.stop_tokens


def test_eos_from_metadata_is_added_to_family_stops() -> None:
    t = _detect(v.DEEPSEEK_CODER, {**v.DEEPSEEK_CODER_META, "ghostline.token.eot": "<|EOT|>"})
    assert t.stop_tokens.count("<|EOT|>") == 1
    assert "<｜end▁of▁sentence｜>" in t.stop_tokens


def test_the_small_packaged_qwen_is_shown_no_other_files() -> None:
    """Measured (docs/models.md): other files' code does not help the 0.5B, and the 1.5B
    is shown it; any other model keeps the template's default."""
    from ghostline.engine.base import ModelInfo
    from ghostline.engine.model_catalog import QWEN_05B, QWEN_15B
    from ghostline.prompts.fim import template_for_model

    qwen = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|repo_name|>",
            "<|file_sep|>"]

    def info(file_name: str) -> ModelInfo:
        return ModelInfo(name="m", path=f"/cache/models/{file_name}", context_size=2048,
                         special_tokens=qwen, metadata={"general.architecture": "qwen2"})

    assert not template_for_model(info(QWEN_05B.file_name)).uses_context
    assert template_for_model(info(QWEN_15B.file_name)).uses_context
    assert template_for_model(info("my-qwen-7b.gguf")).uses_context
    assert template_for_model(info(QWEN_05B.file_name)).name == "qwen2.5-coder"
