"""The speculative-decoding benchmark's requests and report (no model)."""

from __future__ import annotations

from ghostline.bench.speculative import Arm, Outcome, report, requests


def test_requests_pair_a_fim_completion_with_a_test_file_per_item() -> None:
    made = requests(2, 0, 64)
    kinds = [kind for kind, _, _ in made]
    assert kinds == ["multi-line", "multi-line", "test file", "test file"]
    fim = made[0][2]
    assert fim["prompt"].startswith("<|fim_prefix|>") and fim["prompt"].endswith(
        "<|fim_middle|>") and fim["max_tokens"] == 64
    chat = made[2][2]
    assert chat["max_tokens"] == 128 and "pytest" in chat["messages"][0]["content"]
    assert made[0][1] == made[2][1]  # the same HumanEval task
    assert requests(2, 0, 64) == made  # reproducible


def test_report_gives_speed_ratio_kept_share_and_sameness_per_kind_of_draft() -> None:
    outcomes = [
        Outcome("multi-line", "a", 100, 4.0, {"lookup": Arm(2.0, 80, 60, True),
                                              "draft model": Arm(8.0, 50, 50, True)}),
        Outcome("multi-line", "b", 100, 4.0, {"lookup": Arm(4.0, 20, 5, False),
                                              "draft model": Arm(8.0, 50, 40, True)}),
    ]
    lines = report(outcomes).split("\n")
    lookup, draft = lines[1], lines[2]
    assert lookup.split()[:3] == ["multi-line", "lookup", "2"]
    assert "25.0" in lookup and "33.3" in lookup  # 200 tokens in 8 s off, in 6 s on
    assert "65%" in lookup and "1/2" in lookup  # 65 of 100 drafted kept; one output differed
    assert draft.split()[:4] == ["multi-line", "draft", "model", "2"]
    assert "12.5" in draft and "0.50" in draft  # 200 tokens in 16 s, half the speed
    assert "90%" in draft and "2/2" in draft
