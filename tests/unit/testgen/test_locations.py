"""Where generated tests go, per language, and which framework they use."""

from __future__ import annotations

import json
from pathlib import Path

from ghostline.index.testgen_locations import js_framework, js_specifier, plan_test_file


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- Python -------------------------------------------------------------------------------------


def test_python_new_file_goes_to_the_tests_folder(tmp_path: Path) -> None:
    source = write(tmp_path / "shop" / "cart.py", "def total(): ...\n")
    (tmp_path / "tests").mkdir()
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None
    assert plan.path == tmp_path / "tests" / "test_cart.py"
    assert not plan.exists
    assert plan.framework == "pytest"
    assert plan.import_from == "cart"
    assert plan.python_path == tmp_path / "shop"


def test_python_without_a_tests_folder_uses_root_tests(tmp_path: Path) -> None:
    source = write(tmp_path / "cart.py")
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None and plan.path == tmp_path / "tests" / "test_cart.py"


def test_python_package_module_name_and_src_layout(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname='x'\n")
    write(tmp_path / "src" / "shop" / "__init__.py")
    source = write(tmp_path / "src" / "shop" / "cart.py")
    (tmp_path / "tests").mkdir()
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None
    assert plan.import_from == "shop.cart"
    assert plan.python_path == tmp_path / "src"
    assert plan.path == tmp_path / "tests" / "test_cart.py"
    assert plan.project_root == tmp_path


def test_python_tests_beside_the_module_stay_beside(tmp_path: Path) -> None:
    source = write(tmp_path / "lib" / "cart.py")
    write(tmp_path / "lib" / "test_other.py", "def test_x():\n    assert 1\n")
    (tmp_path / "tests").mkdir()
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None and plan.path == tmp_path / "lib" / "test_cart.py"


def test_python_existing_test_file_is_appended_to(tmp_path: Path) -> None:
    source = write(tmp_path / "cart.py")
    existing = write(tmp_path / "tests" / "test_cart.py", "import pytest\n")
    plan = plan_test_file(source, "python", tmp_path, [existing])
    assert plan is not None and plan.path == existing and plan.exists


def test_python_existing_tests_found_on_disk_without_the_index(tmp_path: Path) -> None:
    source = write(tmp_path / "cart.py")
    existing = write(tmp_path / "tests" / "test_cart.py", "def test_a():\n    pass\n")
    plan = plan_test_file(source, "python", tmp_path, None)
    assert plan is not None and plan.path == existing and plan.exists


def test_python_unittest_project_gets_unittest(tmp_path: Path) -> None:
    source = write(tmp_path / "cart.py")
    write(tmp_path / "tests" / "test_other.py",
          "import unittest\n\nclass TestX(unittest.TestCase):\n    pass\n")
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None and plan.framework == "unittest"


def test_python_unittest_file_with_pytest_config_stays_pytest(tmp_path: Path) -> None:
    source = write(tmp_path / "cart.py")
    write(tmp_path / "pytest.ini", "[pytest]\n")
    write(tmp_path / "tests" / "test_other.py", "import unittest\n")
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None and plan.framework == "pytest"


def test_tests_of_another_project_are_not_existing_tests(tmp_path: Path) -> None:
    write(tmp_path / "a" / "pyproject.toml")
    write(tmp_path / "b" / "pyproject.toml")
    source = write(tmp_path / "b" / "util.py")
    other = write(tmp_path / "a" / "tests" / "test_util.py", "def test_x():\n    pass\n")
    (tmp_path / "b" / "tests").mkdir()
    plan = plan_test_file(source, "python", tmp_path, [other])
    assert plan is not None
    assert plan.path == tmp_path / "b" / "tests" / "test_util.py"
    assert not plan.exists


# --- JavaScript / TypeScript ------------------------------------------------------------------


def package(tmp_path: Path, **fields: object) -> None:
    write(tmp_path / "package.json", json.dumps({"name": "x", **fields}))


def test_js_framework_from_package_json() -> None:
    assert js_framework({"devDependencies": {"vitest": "^2"}}) == "vitest"
    assert js_framework({"devDependencies": {"jest": "^29", "ts-jest": "^29"}}) == "jest"
    assert js_framework({"scripts": {"test": "vitest run"}}) == "vitest"
    assert js_framework({"dependencies": {"left-pad": "1"}}) == "node:test"
    assert js_framework(None) == "node:test"


def test_ts_new_test_beside_the_file(tmp_path: Path) -> None:
    package(tmp_path, devDependencies={"vitest": "^2"})
    source = write(tmp_path / "src" / "cart.ts", "export function total() {}\n")
    plan = plan_test_file(source, "typescript", tmp_path, [])
    assert plan is not None
    assert plan.path == tmp_path / "src" / "cart.test.ts"
    assert plan.framework == "vitest"
    assert plan.import_from == "./cart"


def test_ts_follows_spec_naming_and_test_folder(tmp_path: Path) -> None:
    package(tmp_path, devDependencies={"jest": "^29"})
    source = write(tmp_path / "src" / "shop" / "cart.ts")
    write(tmp_path / "test" / "shop" / "price.spec.ts", "it('x', () => {});\n")
    write(tmp_path / "test" / "other.spec.ts", "it('x', () => {});\n")
    plan = plan_test_file(source, "typescript", tmp_path, [])
    assert plan is not None
    assert plan.path == tmp_path / "test" / "shop" / "cart.spec.ts"
    assert plan.framework == "jest"
    assert plan.import_from == "../../src/shop/cart"


def test_ts_follows_dunder_tests_folders(tmp_path: Path) -> None:
    package(tmp_path)
    source = write(tmp_path / "src" / "cart.ts")
    write(tmp_path / "src" / "other" / "__tests__" / "price.test.ts", "test('x', () => {});\n")
    plan = plan_test_file(source, "typescript", tmp_path, [])
    assert plan is not None
    assert plan.path == tmp_path / "src" / "__tests__" / "cart.test.ts"
    assert plan.import_from == "../cart"


def test_esm_javascript_keeps_the_extension(tmp_path: Path) -> None:
    package(tmp_path, type="module")
    source = write(tmp_path / "lib" / "cart.js")
    plan = plan_test_file(source, "javascript", tmp_path, [])
    assert plan is not None
    assert plan.framework == "node:test"
    assert plan.path == tmp_path / "lib" / "cart.test.js"
    assert plan.import_from == "./cart.js"


def test_js_specifier_goes_up_folders() -> None:
    assert js_specifier(Path("/p/test"), Path("/p/src/a.ts")) == "../src/a"
    assert js_specifier(Path("/p/src"), Path("/p/src/a.ts")) == "./a"


# --- Go, Rust, Java -----------------------------------------------------------------------------


def test_go_test_file_beside_in_the_same_package(tmp_path: Path) -> None:
    source = write(tmp_path / "shop" / "cart.go", "package shop\n\nfunc Total() int { return 0 }\n")
    plan = plan_test_file(source, "go", tmp_path, [])
    assert plan is not None
    assert plan.path == tmp_path / "shop" / "cart_test.go"
    assert plan.import_from == "shop"
    assert plan.framework == "go"


def test_rust_tests_go_into_the_source_file(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "lib.rs", "pub fn add(a: i32, b: i32) -> i32 { a + b }\n")
    plan = plan_test_file(source, "rust", tmp_path, [])
    assert plan is not None
    assert plan.path == source and plan.in_source and plan.exists
    assert plan.import_from == "super"


def test_java_mirrors_main_into_test(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "main" / "java" / "com" / "shop" / "Cart.java",
                   "package com.shop;\n\npublic class Cart {}\n")
    plan = plan_test_file(source, "java", tmp_path, [])
    assert plan is not None
    assert plan.path == tmp_path / "src" / "test" / "java" / "com" / "shop" / "CartTest.java"
    assert plan.import_from == "com.shop"
    assert plan.framework == "junit5"


def test_java_follows_junit4_when_the_project_uses_it(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "main" / "java" / "Cart.java", "public class Cart {}\n")
    write(tmp_path / "src" / "test" / "java" / "PriceTest.java",
          "import org.junit.Test;\npublic class PriceTest {}\n")
    plan = plan_test_file(source, "java", tmp_path, [])
    assert plan is not None and plan.framework == "junit4"


def test_unsupported_language_has_no_plan(tmp_path: Path) -> None:
    assert plan_test_file(write(tmp_path / "a.c"), "c", tmp_path, []) is None
