"""Checks of generated tests: completeness, parse errors, names, arity, loops."""

from __future__ import annotations

from ghostline.index.conventions import declared_test_names
from ghostline.postprocess.testgen_output import (
    body_key,
    complete_unit,
    js_arity,
    js_call_problem,
    js_undefined_names,
    python_arity,
    python_call_problem,
    python_names,
    rename_unit,
    repeated_line_run,
    set_unit_name,
    syntax_errors,
    unit_closed,
    uses_name,
)


def test_python_unit_ends_at_the_first_dedented_line() -> None:
    text = "def test_a():\n    x = 1\n\n    assert x == 1\n\n\nprint('after')\n"
    assert complete_unit(text, "python") == "def test_a():\n    x = 1\n\n    assert x == 1"
    assert unit_closed(text, "python")
    assert not unit_closed("def test_a():\n    x = 1\n", "python")


def test_python_unit_cut_by_the_token_limit_loses_its_last_line() -> None:
    text = "def test_a():\n    assert f(1) == 2\n    assert f(2) =="
    assert complete_unit(text, "python", truncated=True) == "def test_a():\n    assert f(1) == 2"
    assert complete_unit("def test_a():\n    assert f(", "python", truncated=True) is None


def test_method_unit_respects_the_frame_indent() -> None:
    text = "    def test_a(self):\n        self.assertTrue(f())\n    def test_b(self):\n"
    assert complete_unit(text, "python", "    ") == (
        "    def test_a(self):\n        self.assertTrue(f())")


def test_brace_unit_ends_where_its_brackets_close() -> None:
    text = ('  it("adds", () => {\n    expect(add("}", 2)).toBe(3); // }\n  });\n'
            '  it("next", () => {\n')
    assert complete_unit(text, "typescript") == (
        '  it("adds", () => {\n    expect(add("}", 2)).toBe(3); // }\n  });')
    go = "func TestA(t *testing.T) {\n\tif A() != 1 {\n\t\tt.Fatal(\"x\")\n\t}\n}\nfunc"
    assert complete_unit(go, "go") == go[: go.rindex("}") + 1]
    assert complete_unit("func TestA(t *testing.T) {\n\tA(", "go") is None


def test_syntax_errors_are_reported_with_lines() -> None:
    assert syntax_errors("def test_a():\n    assert f(1) == 2\n", "python") == []
    errors = syntax_errors("def test_a():\n    assert f(1 == 2\n", "python")
    assert errors and errors[0].startswith("line ")
    assert syntax_errors("it('x', () => { expect(1).toBe(1); });\n", "typescript") == []
    assert syntax_errors("it('x', () => { expect(1).toBe(1); );\n", "typescript")


def test_uses_name_ignores_strings_and_comments() -> None:
    assert uses_name("def test_a():\n    assert total([]) == 0\n", "python", "total")
    assert not uses_name("def test_total():\n    assert 'total' != 0  # total\n", "python",
                         "total")
    assert uses_name("it('x', () => { expect(cart.total()).toBe(0); });", "typescript", "total")


def test_rename_on_clash() -> None:
    unit = "def test_total_is_zero():\n    assert total([]) == 0"
    renamed, name = rename_unit(unit, "python", {"test_total_is_zero", "test_total_is_zero_2"})
    assert name == "test_total_is_zero_3"
    assert renamed.startswith("def test_total_is_zero_3():")
    same, kept = rename_unit(unit, "python", {"other"})
    assert same == unit and kept == "test_total_is_zero"
    js, js_name = rename_unit('  it("is zero", () => {\n  });', "typescript", {"is zero"})
    assert js_name == "is zero (2)" and js.startswith('  it("is zero (2)"')


def test_a_test_gets_another_name_only_where_its_literal_can_hold_it() -> None:
    assert set_unit_name("def test_a():\n    pass", "python", "test_b") == \
        "def test_b():\n    pass"
    single = "  it('compares', () => {\n  });"
    assert set_unit_name(single, "typescript", "returns 1 for 2 > 1") == \
        "  it('returns 1 for 2 > 1', () => {\n  });"
    # the failing test's title held the quote the repaired one uses: keep its own title
    assert set_unit_name(single, "typescript", "is false for '1.0' < '1.1'") is None
    assert set_unit_name("no test here", "python", "test_x") is None


def test_declared_test_names_per_language() -> None:
    assert declared_test_names("def test_a():\n    pass\nasync def test_b():\n    pass\n",
                               "python") == ["test_a", "test_b"]
    assert declared_test_names('it("one", () => {});\ntest(`two`, () => {});\n',
                               "typescript") == ["one", "two"]
    assert declared_test_names("func TestA(t *testing.T) {}\nfunc helper() {}\n",
                               "go") == ["TestA"]
    assert declared_test_names("    @Test\n    void addsItems() {}\n", "java") == ["addsItems"]


def test_copies_have_the_same_body_key() -> None:
    a = "def test_a():\n    assert f(1) == 2"
    b = "def test_b():\n    assert  f(1) == 2\n"
    assert body_key(a) == body_key(b)
    assert body_key(a) != body_key("def test_c():\n    assert f(2) == 3")


def test_python_names_finds_undefined_names_and_unknown_fixtures() -> None:
    unit = ("def test_a(tmp_path, item):\n    data = [x for x in range(3)]\n"
            "    assert restock(item, amount) == data\n")
    names = python_names(unit, known={"restock"}, fixtures=[])
    assert names.undefined == ("amount",)
    assert names.unknown_fixtures == ("item",)
    assert python_names(unit, known={"restock", "amount"}, fixtures=["item"]).unknown_fixtures == ()


def test_arity_of_functions_methods_and_classes() -> None:
    arity = python_arity("def restock(item: Item, amount: int = 1) -> Item:\n    pass",
                         "restock")
    assert arity is not None and (arity.required, arity.maximum) == (1, 2)
    method = python_arity("def add(self, *values, strict=False):\n    pass", "add")
    assert method is not None and (method.required, method.maximum) == (0, None)
    assert "strict" in method.parameters
    cls = python_arity("class Cart:\n    def __init__(self, owner):\n        pass\n", "Cart")
    assert cls is not None and (cls.required, cls.maximum) == (1, 1)


def test_calls_with_the_wrong_arguments_are_found() -> None:
    arity = python_arity("def restock(item, amount):\n    pass", "restock")
    assert arity is not None
    assert python_call_problem("def test_a():\n    assert restock(1, 2) == 3\n", "restock",
                               arity) == ""
    assert python_call_problem("def test_a():\n    assert restock(1, amount=2)\n", "restock",
                               arity) == ""
    assert "with 1 argument" in python_call_problem("def test_a():\n    restock([1])\n",
                                                    "restock", arity)
    assert "unknown argument 'qty'" in python_call_problem(
        "def test_a():\n    restock(1, qty=2)\n", "restock", arity)
    assert python_call_problem("def test_a():\n    restock(*args)\n", "restock", arity) == ""


def test_repeated_lines_mean_a_loop() -> None:
    assert repeated_line_run("a\n    x = f(1)\n    x = f(1)\n    x = f(1)\n")
    assert not repeated_line_run("a\n    x = f(1)\n    y = f(2)\n    z = f(3)\n")


def test_js_arity_and_calls() -> None:
    arity = js_arity("export function applyDiscount(amount: number, percent = 0): number {\n"
                     "  return amount;\n}", "typescript")
    assert arity is not None and (arity.required, arity.maximum) == (1, 2)
    unit = 'it("x", () => { expect(applyDiscount(1, 2, 3)).toBe(1); });'
    assert "with 3 arguments" in js_call_problem(unit, "applyDiscount", arity, "typescript")
    assert js_call_problem('it("x", () => { expect(applyDiscount(1)).toBe(1); });',
                           "applyDiscount", arity, "typescript") == ""
    method = js_arity("add(x, ...more) {\n  return x;\n}", "javascript")
    assert method is not None and (method.required, method.maximum) == (1, None)


def test_js_undefined_names() -> None:
    unit = ('  it("x", () => {\n    const lines = [{ price: 1 }];\n'
            "    for (const l of lines) { expect(l.price).toBe(total(rows)); }\n  });")
    assert js_undefined_names(unit, "typescript", {"total"}) == ["rows"]
    assert js_undefined_names(unit.replace("rows", "lines"), "typescript", {"total"}) == []
