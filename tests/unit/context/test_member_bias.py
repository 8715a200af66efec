"""The worker's first-token bias toward preferred names (a pure function of the vocabulary)."""

from ghostline.engine.worker import AVOID_PENALTY, PREFERRED_BIAS, avoid_penalty, preferred_bias

VOCAB = {"get": [1], "get_": [2], "get_item": [3], "item": [4], "set": [5], "get_item(": [6],
         "g": [7], "ge": [8], " get": [9], "items": [10], "_item": [11], "(": [12]}


def test_tokens_that_start_a_preferred_name_are_biased() -> None:
    bias = preferred_bias(VOCAB, ["get_item", "set_value"], "")
    assert set(bias) == {1, 2, 3, 6, 7, 8, 5}
    assert all(value == PREFERRED_BIAS for value in bias.values())
    assert 9 not in bias  # a leading space does not spell a member right after the dot


def test_bias_continues_a_name_and_stops_when_done_or_off_track() -> None:
    assert set(preferred_bias(VOCAB, ["get_item"], "get")) == {11}
    assert preferred_bias(VOCAB, ["get_item"], "get_item") == {}
    assert preferred_bias(VOCAB, ["get_item"], "value") == {}
    assert preferred_bias(VOCAB, [], "") == {}


def test_avoided_words_are_banned_from_three_characters_on() -> None:
    vocab = {"return": [1], " return": [2], "ret": [3], "re": [4], "r": [5], "result": [6],
             "retu": [7], "if": [8], "i": [9], " if": [10]}
    penalty = avoid_penalty(vocab, ["return", "if"])
    assert set(penalty) == {1, 2, 3, 7, 8, 10}  # "re" and "r" still start "result"
    assert all(value == -AVOID_PENALTY for value in penalty.values())
