"""Whether a new Python line can stand above the code below it (`postprocess.fit`)."""

from ghostline.postprocess.fit import first_word, fits_below, misfit_below

BODY_BELOW = "        total += x\n    return total\n"
SAME_LEVEL_BELOW = "    return total\n"


def test_deeper_code_below_needs_a_block_header() -> None:
    assert misfit_below("    return total", BODY_BELOW)
    assert misfit_below("    for x in xs:", BODY_BELOW) is None
    assert misfit_below("    for x in xs:  # each row", BODY_BELOW) is None


def test_a_block_header_must_not_take_over_the_next_clause() -> None:
    clause_below = "    else:\n        total = 1\n"
    assert misfit_below("    if not xs:", clause_below)
    assert misfit_below("    except ValueError:", "    finally:\n        pass\n")
    assert misfit_below("    total = 0", clause_below) is None
    assert misfit_below("    if not xs: return 0", clause_below) is None  # one line
    assert misfit_below("        if not xs:", clause_below) is None  # a nested block


def test_a_new_block_over_ordinary_code_is_left_to_the_user() -> None:
    assert misfit_below("    if not xs:", SAME_LEVEL_BELOW) is None  # its body comes next
    assert misfit_below("        if not xs:", SAME_LEVEL_BELOW) is None


def test_lines_that_go_on_comments_and_the_end_of_the_code_are_not_judged() -> None:
    assert misfit_below("    total = sum(", BODY_BELOW) is None
    assert misfit_below("    total = a + \\", BODY_BELOW) is None
    assert misfit_below("    values = [1,", BODY_BELOW) is None
    assert misfit_below("    # add them up", BODY_BELOW) is None
    assert misfit_below("    if ready:", "\n\n") is None  # new code: the body comes next
    assert misfit_below("    if ready:", "    # later\n") is None


def test_comments_and_strings_do_not_hide_the_end_of_the_line() -> None:
    assert misfit_below("    label = 'a: #' + b", SAME_LEVEL_BELOW) is None
    assert misfit_below("    label = ':(' ", SAME_LEVEL_BELOW) is None
    assert misfit_below("    while x:  # (", "    else:\n")
    assert misfit_below("    return total", "\n    # the loop\n        x += 1\n")


def test_first_word() -> None:
    assert first_word("        return total") == "return"
    assert first_word("    (a, b) = pair") == "("
    assert first_word("   ") == ""


def test_only_a_finished_line_of_code_with_code_below_is_told_to_fit() -> None:
    assert fits_below("    t = 0", SAME_LEVEL_BELOW)
    assert not fits_below("    return t", BODY_BELOW)
    assert not fits_below("    # a comment", SAME_LEVEL_BELOW)
    assert not fits_below('    """', SAME_LEVEL_BELOW)  # a docstring goes on
    assert not fits_below("    t = 0", "\n")
