"""A line that binds a name its block never reads takes the name the block reads instead."""

from __future__ import annotations

from ghostline.index.languages import spec_for_path
from ghostline.postprocess.rebind import rebind_to_block

VALIDATE = (
    "def run(validators, value):\n"
    "    errors = []\n"
    "    for validator in validators:\n"
    "        try:\n"
    "            validator(value)\n"
    "        except <|>\n"
    "            errors.append(err.messages)\n"
    "    return errors\n"
)


def rebound(source: str, completion: str) -> str:
    """`completion` at ``<|>`` in `source`, after `rebind_to_block`."""
    spec = spec_for_path("a.py")
    assert spec is not None
    offset = source.index("<|>")
    return rebind_to_block(completion, source.replace("<|>", ""), offset, spec)


def test_an_exception_bound_under_another_name_takes_the_one_the_block_reads() -> None:
    assert rebound(VALIDATE, "ValidationError as e:") == "ValidationError as err:"


def test_a_name_the_block_reads_is_kept() -> None:
    assert rebound(VALIDATE, "ValidationError as err:") == "ValidationError as err:"
    assert rebound(VALIDATE.replace("err.messages", "e.messages"),
                   "ValueError as e:") == "ValueError as e:"


def test_a_line_that_binds_nothing_is_kept_where_nothing_below_needs_a_name() -> None:
    reads_e = VALIDATE.replace("err.messages", "e.messages")
    assert rebound(reads_e.replace("    errors = []\n", "    errors = []\n    e = 1\n"),
                   "(ValueError, KeyError):") == "(ValueError, KeyError):"


def test_a_loop_variable_and_a_with_target() -> None:
    loop = ("def total(rows):\n    total = 0\n    <|>\n        total += row.amount\n"
            "    return total\n")
    assert rebound(loop, "for item in rows:") == "for row in rows:"
    opened = "def read(path):\n    <|>\n        return handle.read()\n"
    assert rebound(opened, "with open(path) as f:") == "with open(path) as handle:"


def test_an_accumulator_of_the_block_is_not_taken_for_the_loop_variable() -> None:
    source = "def total(rows):\n    <|>\n        total += 1\n"
    assert rebound(source, "for item in rows:") == "for item in rows:"


def test_the_users_own_name_is_never_changed() -> None:
    typed = VALIDATE.replace("except <|>", "except ValidationError as e<|>")
    assert rebound(typed, ":") == ":"


def test_names_bound_elsewhere_or_outside_functions_are_left_alone() -> None:
    bound = VALIDATE.replace("    errors = []\n", "    errors = []\n    err = None\n")
    assert rebound(bound, "ValidationError as e:") == "ValidationError as e:"
    module_level = "try:\n    pass\nexcept <|>\n    print(err)\n"
    assert rebound(module_level, "ValueError as e:") == "ValueError as e:"


def test_a_multi_line_completion_is_left_alone() -> None:
    assert rebound(VALIDATE, "ValidationError as e:\n    pass") == \
        "ValidationError as e:\n    pass"


def test_a_line_that_binds_nothing_gains_the_name_the_code_below_reads() -> None:
    assert rebound(VALIDATE, "ValidationError:") == "ValidationError as err:"
    raises = ("def test_load(schema):\n    <|>\n        schema.load({})\n"
              "    assert excinfo.value.messages\n")
    assert rebound(raises, "with pytest.raises(ValueError):") == \
        "with pytest.raises(ValueError) as excinfo:"
    assert rebound(raises, "with pytest.raises(ValueError) as e:") == \
        "with pytest.raises(ValueError) as excinfo:"


def test_a_bare_except_gains_nothing() -> None:
    assert rebound(VALIDATE, ":") == ":"


def test_a_called_name_is_taken_only_when_no_other_is_read() -> None:
    source = "def f(x):\n    try:\n        x()\n    except <|>\n        log(err)\n"
    assert rebound(source, "ValueError as e:") == "ValueError as err:"
