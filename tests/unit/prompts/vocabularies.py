"""Special-token strings of real model vocabularies, as GGUF files carry them.

StarCoder2, StarCoder (Refact), DeepSeek-Coder and Gemma 3 were read with
``read_gguf_vocabulary`` from llama.cpp's vocab-only test GGUFs and the packaged Gemma 3 270M
(trimmed of padding/unused entries); the others follow the models' published tokenizers.
"""

QWEN25_CODER = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>",
]
QWEN25_CODER_META = {"general.architecture": "qwen2", "general.name": "Qwen2.5 Coder 1.5B"}

STARCODER2 = [
    "<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<repo_name>",
    "<file_sep>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>",
    "<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<jupyter_script>", "<empty_output>",
    "<code_to_intermediate>", "<intermediate_to_code>", "<pr>", "<pr_status>", "<pr_is_merged>",
    "<pr_base>", "<pr_file>", "<pr_base_code>", "<pr_diff>", "<NAME>", "<EMAIL>", "<KEY>",
    "<PASSWORD>",
]
STARCODER2_META = {
    "general.architecture": "starcoder2",
    "general.name": "starcoder",
    "ghostline.token.eos": "<|endoftext|>",
}

STARCODER1 = [
    "<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<filename>",
    "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>",
    "<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<empty_output>", "<commit_before>",
    "<commit_msg>", "<commit_after>", "<reponame>",
]
STARCODER1_META = {"general.architecture": "refact", "ghostline.token.eos": "<|endoftext|>"}

DEEPSEEK_CODER = [
    "õ", "÷", "Á", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜fim▁hole｜>",
    "<｜fim▁begin｜>", "<｜fim▁end｜>", "<pad>", "<|User|>", "<|Assistant|>", "<|EOT|>",
]
DEEPSEEK_CODER_META = {
    "general.architecture": "llama",
    "general.name": "deepseek-coder",
    "ghostline.token.eos": "<｜end▁of▁sentence｜>",
}

CODEGEMMA = [
    "<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<2mass>", "[@BOS@]", "<unused0>",
    "<start_of_turn>", "<end_of_turn>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|file_separator|>",
]
CODEGEMMA_META = {"general.architecture": "gemma", "general.name": "codegemma-2b"}

# Code Llama's SentencePiece pieces carry the word-boundary mark.
CODELLAMA = ["<unk>", "<s>", "</s>", "▁<PRE>", "▁<MID>", "▁<SUF>", "▁<EOT>"]
CODELLAMA_META = {"general.architecture": "llama", "ghostline.token.eos": "</s>"}

CODESTRAL = [
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]",
    "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[control_8]", "[MIDDLE]",
    "[SUFFIX]", "[PREFIX]",
]
CODESTRAL_META = {"general.architecture": "llama", "general.name": "Codestral 22B v0.1"}

GEMMA3 = [
    "<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "[multimodal]", "<start_of_turn>",
    "<end_of_turn>", "<table>", "<code>", "</code>", "<s>", "</s>", "<start_of_image>",
    "<end_of_image>", "<unused0>",
]
GEMMA3_META = {
    "general.architecture": "gemma3",
    "general.name": "Gemma 3 270m",
    "ghostline.token.eos": "<eos>",
}

SMOLLM2 = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>",
           "<file_sep>", "<filename>", "<gh_stars>", "<issue_start>", "<jupyter_start>"]
SMOLLM2_META = {"general.architecture": "llama", "general.name": "SmolLM2 135M Instruct"}
