"""Prompts for test generation, per test framework and per kind of model.

A base model (the default Gemma 3 270M) continues text: it gets the code under test as a
file, then the test file as far as it exists (the project's own tests when there are any),
and the first words of the next test (``def test_restock_``). An instruction model gets a
chat request with the same material and answers with a code block. Either way the answer is
cut into single tests ("units") by ``postprocess.testgen_output``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ghostline.engine.base import ChatMessage
from ghostline.index.testgen_imports import ImportNeed, render_imports
from ghostline.index.testgen_target import GenContext, Target

_LANGUAGE_NAMES = {
    "python": "Python", "javascript": "JavaScript", "typescript": "TypeScript",
    "tsx": "TypeScript", "go": "Go", "rust": "Rust", "java": "Java",
}  # fmt: skip
_FENCE = {"tsx": "tsx", "typescript": "ts", "javascript": "js"}


@dataclass(frozen=True)
class Frame:
    """What surrounds the units in the file: ``open`` + units + ``close``."""

    open: str = ""
    close: str = ""
    indent: str = ""


@dataclass(frozen=True)
class GenStyle:
    """How one framework's tests look: the frame around them, how each one starts
    (``leads``, tried in turn), where the model's text stops, what to import."""

    framework: str
    language: str
    frame: Frame
    leads: tuple[str, ...]
    stops: tuple[str, ...]
    separator: str
    unit_start: re.Pattern[str]
    comment: str
    needs: tuple[ImportNeed, ...] = ()
    #: Where the test's name ends (the model writes only the name after a lead-in)...
    name_stops: tuple[str, ...] = ()
    #: ...and what the server writes after it, per lead-in: the start of the body with the
    #: call of the target, so a small model cannot drift to other functions ("" = free).
    bodies: tuple[str, ...] = ()
    #: Characters a name may not hold (removed from what the model wrote).
    name_junk: str = ""

    def body_for(self, lead: str) -> str:
        if not self.bodies or lead not in self.leads:
            return ""
        return self.bodies[self.leads.index(lead)]


def snake(name: str) -> str:
    """``restockItem`` / ``RestockItem`` → ``restock_item``; leading underscores dropped."""
    name = name.lstrip("_")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def camel(name: str, upper: bool = True) -> str:
    """``restock_item`` → ``RestockItem`` (``restockItem`` with ``upper=False``)."""
    parts = [p for p in re.split(r"_+", snake(name)) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Target"
    return text if upper else text[:1].lower() + text[1:]


def style_for(framework: str, language: str, target: Target) -> GenStyle:
    """The style for ``framework`` (pytest, unittest, vitest, jest, node:test, go, rust,
    junit5, junit4)."""
    name = target.name if target.kind != "constructor" else (target.container or target.name)
    base = snake(name) or "target"
    label = f"{target.container}.{name}" if target.container else name
    direct = target.kind == "function"  # a test can call it without building anything
    if framework == "pytest":
        prefix = f"def test_{base}_"
        leads = _leads(prefix, ("returns_", "with_", "handles_"), "raises_", target)
        return GenStyle(
            framework, language, Frame(), leads,
            ("\ndef ", "\nclass ", "\n@", "\nif __name__", "\n# ", "\n\n\n\n"), "\n\n\n",
            re.compile(r"^(?:@pytest[^\n]*\n)*(?:async )?def test", re.M), "#",
            name_stops=("(", "\n", ":", " "),
            bodies=tuple(("():\n    with pytest.raises(" if lead.endswith("raises_")
                          else f"():\n    assert {name}(") for lead in leads) if direct else (),
            name_junk=r"[^A-Za-z0-9_]",
        )
    if framework == "unittest":
        prefix = f"    def test_{base}_"
        return GenStyle(
            framework, language,
            Frame(f"class Test{camel(name)}(unittest.TestCase):\n", "", "    "),
            _leads(prefix, ("returns_", "with_"), "raises_", target),
            ("\n    def ", "\nclass ", "\nif __name__", "\n\n\n"), "\n\n",
            re.compile(r"^    def test", re.M), "#", (ImportNeed("unittest"),),
        )
    if framework in ("vitest", "jest"):
        leads = _leads('  it("', ("returns ", "handles "), "throws ", target)
        return GenStyle(
            framework, language, Frame(f'describe("{label}", () => {{\n', "});\n", "  "),
            leads,
            ("\n  it(", "\n  test(", "\n});", "\n\n\n", "\ndescribe("), "\n\n",
            re.compile(r"^[ \t]*(?:it|test)\(", re.M), "//",
            name_stops=('"', "\n"),
            bodies=tuple((f'", () => {{\n    expect(() => {name}(' if lead.endswith("throws ")
                          else f'", () => {{\n    expect({name}(') for lead in leads)
            if direct else (),
            name_junk=r"[\"'`\\]",
        )
    if framework == "node:test":
        leads = _leads(f'test("{label} ', ("returns ", "handles "), "throws ", target)
        return GenStyle(
            framework, language, Frame(), leads,
            ("\ntest(", "\ndescribe(", "\n\n\n", "\nit("), "\n\n",
            re.compile(r"^(?:test|it)\(", re.M), "//",
            (ImportNeed("node:test", ("test",)), ImportNeed("node:assert/strict",
                                                             default="assert")),
            name_stops=('"', "\n"),
            bodies=tuple((f'", () => {{\n  assert.throws(() => {name}(' if lead.endswith("throws ")
                          else f'", () => {{\n  assert.deepEqual({name}(') for lead in leads)
            if direct else (),
            name_junk=r"[\"'`\\]",
        )
    if framework == "go":
        prefix = f"func Test{camel(label.replace('.', '_'))}"
        return GenStyle(
            framework, language, Frame(), (prefix, f"{prefix}Returns", f"{prefix}With"),
            ("\nfunc ", "\ntype ", "\nvar ", "\n\n\n"), "\n\n",
            re.compile(r"^func Test", re.M), "//", (ImportNeed("testing"),),
        )
    if framework == "rust":
        prefix = f"    #[test]\n    fn {base}_"
        return GenStyle(
            framework, language, Frame("#[cfg(test)]\nmod tests {\n    use super::*;\n\n",
                                       "}\n", "    "),
            (prefix, f"{prefix}returns_", f"{prefix}with_"),
            ("\n    #[test]", "\n}", "\n\n\n"), "\n\n",
            re.compile(r"^[ \t]*#\[test\]", re.M), "//",
        )
    if framework in ("junit5", "junit4"):
        public = "public " if framework == "junit4" else ""
        owner = target.container or Path(target.path).stem
        prefix = f"    @Test\n    {public}void {camel(name, upper=False)}"
        needs = ((ImportNeed("org.junit.jupiter.api", ("Test",)),
                  ImportNeed("org.junit.jupiter.api.Assertions", ("*",), static=True))
                 if framework == "junit5" else
                 (ImportNeed("org.junit", ("Test",)),
                  ImportNeed("org.junit.Assert", ("*",), static=True)))
        return GenStyle(
            framework, language, Frame(f"{public}class {owner}Test {{\n", "}\n", "    "),
            (prefix, f"{prefix}Returns", f"{prefix}With"),
            ("\n    @Test", "\n}", "\n\n\n"), "\n\n",
            re.compile(r"^[ \t]*@Test", re.M), "//", needs,
        )
    raise ValueError(f"no test style for {framework}")


_FAILS = re.compile(r"\braise\b|\bthrow\b|panic!|\bErr\(|errors\.New|fmt\.Errorf")


def _leads(prefix: str, words: tuple[str, ...], failing: str, target: Target) -> tuple[str, ...]:
    """The lead-ins to try: the bare prefix first, the error case second when the target
    can fail, then the other words."""
    leads = [prefix]
    if _FAILS.search(target.source):
        leads.append(prefix + failing)
    leads.extend(prefix + word for word in words)
    return tuple(leads)


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


#: Shown to a base model when the project has no test to imitate: the shape of a good test
#: (a call with literal arguments, one assertion on the result).
BUILTIN_EXAMPLES = {
    "pytest": (
        "from textutil import shout\n\n\n"
        "def test_shout_upper_cases_and_adds_a_mark():\n"
        '    assert shout("hi") == "HI!"\n\n\n'
        "def test_shout_of_an_empty_string():\n"
        '    assert shout("") == "!"\n'
    ),
    "unittest": (
        "import unittest\n\nfrom textutil import shout\n\n\n"
        "class TestShout(unittest.TestCase):\n"
        "    def test_shout_upper_cases_and_adds_a_mark(self):\n"
        '        self.assertEqual(shout("hi"), "HI!")\n'
    ),
    "vitest": (
        'import { describe, expect, it } from "vitest";\n'
        'import { shout } from "./textutil";\n\n'
        'describe("shout", () => {\n'
        '  it("upper-cases and adds a mark", () => {\n'
        '    expect(shout("hi")).toBe("HI!");\n'
        "  });\n});\n"
    ),
    "jest": (
        'import { shout } from "./textutil";\n\n'
        'describe("shout", () => {\n'
        '  it("upper-cases and adds a mark", () => {\n'
        '    expect(shout("hi")).toBe("HI!");\n'
        "  });\n});\n"
    ),
    "node:test": (
        'import { test } from "node:test";\n'
        'import assert from "node:assert/strict";\n'
        'import { shout } from "./textutil";\n\n'
        'test("shout upper-cases and adds a mark", () => {\n'
        '  assert.equal(shout("hi"), "HI!");\n'
        "});\n"
    ),
    "go": (
        "func TestShout(t *testing.T) {\n"
        '\tif got := Shout("hi"); got != "HI!" {\n'
        '\t\tt.Errorf("Shout(\\"hi\\") = %q, want %q", got, "HI!")\n'
        "\t}\n}\n"
    ),
}


def example_for(context: GenContext, framework: str) -> str:
    """The project's own tests, else a built-in example of the framework's shape."""
    return context.example or BUILTIN_EXAMPLES.get(framework, "")


def source_block(context: GenContext) -> str:
    """The code under test as the model sees it: imports, related definitions, target."""
    target = context.target
    gap = "\n\n\n" if target.language == "python" else "\n\n"
    parts = [context.source_imports] if context.source_imports.strip() else []
    parts.extend(context.related)
    if target.container and target.language == "python":
        parts.append(f"class {target.container}:\n" + textwrap.indent(target.source, "    "))
    else:
        parts.append(target.source)
    return gap.join(p.strip("\n") for p in parts)


def other_files(context: GenContext, comment: str) -> list[str]:
    """Other files' code from the context service, each under a comment naming its path
    (as repository-level training data shows files), most relevant last."""
    return [f"{comment} {path}\n" + text.strip("\n") for path, text in context.cross_file]


def header_for_new_file(style: GenStyle, needs: list[ImportNeed]) -> str:
    return render_imports([*style.needs, *needs], style.language)


def base_prompt(
    context: GenContext,
    style: GenStyle,
    target_needs: list[ImportNeed],
    root: Path | None,
    note: str = "",
) -> str:
    """The completion prompt up to (not including) the first unit's lead-in.

    Ends with the test file's frame opened, so the caller appends accepted units and the
    next lead-in; a ``note`` (why the last attempt was rejected) goes in as a comment.
    """
    c = style.comment
    plan = context.plan
    target = context.target
    gap = "\n\n\n" if style.language == "python" else "\n\n"
    parts = other_files(context, c)
    parts.append(f"{c} {_relative(target.path, root)}\n{source_block(context)}")
    test_rel = _relative(plan.path, root)
    if plan.in_source:
        body = context.example.rstrip() if context.example else ""
        parts.append(f"{c} {test_rel} (tests)\n{body}".rstrip())
    elif context.existing_text is not None:
        header = render_imports(target_needs, style.language)
        parts.append(f"{c} {test_rel}\n{header}\n{context.example}".rstrip())
    else:
        example = example_for(context, style.framework)
        if example:
            parts.append(f"{c} (another test file of this project)\n{example}")
        header = header_for_new_file(style, target_needs)
        parts.append(f"{c} {test_rel}\n{header}".rstrip())
    prompt = gap.join(p.rstrip("\n") for p in parts) + gap
    if style.frame.open:
        prompt += style.frame.open
    if note:
        prompt += textwrap.indent(f"{c} {note}\n", style.frame.indent)
    return prompt


def chat_messages(
    context: GenContext,
    style: GenStyle,
    target_needs: list[ImportNeed],
    root: Path | None,
    count: int,
    note: str = "",
) -> list[ChatMessage]:
    """A chat request for an instruction model."""
    target = context.target
    language = _LANGUAGE_NAMES.get(style.language, style.language)
    fence = _FENCE.get(style.language, style.language)
    what = f"`{target.container}.{target.name}`" if target.container else f"`{target.name}`"
    imports = render_imports([*style.needs, *target_needs], style.language).strip()
    lines = [
        f"Write {count} {style.framework} unit tests in {language} for {what}.",
        "Each test checks one behaviour with concrete values you computed by hand.",
        f"Reply with a single ```{fence} code block holding only the tests"
        + (" (no `describe` wrapper)" if style.frame.open.startswith("describe") else "")
        + ".",
    ]
    if imports:
        lines.append(f"The test file already has these imports:\n```{fence}\n{imports}\n```")
    if context.cross_file:
        shown = "\n\n".join(other_files(context, style.comment))
        lines.append(f"Code from other files of the project that it uses or that uses it:\n"
                     f"```{fence}\n{shown}\n```")
    lines.append(f"Code under test ({_relative(target.path, root)}):\n"
                 f"```{fence}\n{source_block(context)}\n```")
    if context.example:
        lines.append(f"Follow the style of the project's existing tests:\n"
                     f"```{fence}\n{context.example}\n```")
    if context.fixtures:
        lines.append("Available pytest fixtures: " + ", ".join(context.fixtures) + ".")
    if note:
        lines.append(f"Your previous answer was rejected: {note}. Fix that.")
    return [
        ChatMessage("system", f"You write correct, runnable {language} unit tests."),
        ChatMessage("user", "\n\n".join(lines)),
    ]


def chat_repair_messages(
    messages: list[ChatMessage], style: GenStyle, tests: list[str],
    failures: list[tuple[str, str]],
) -> list[ChatMessage]:
    """The conversation that asks an instruction model to correct its failing tests: the
    request, its tests as the answer, then what running them showed (name, failure)."""
    fence = _FENCE.get(style.language, style.language)
    answer = f"```{fence}\n" + style.separator.join(tests).strip("\n") + "\n```"
    report = "\n".join(f"- {name}: {' '.join(failure.split())[:300]}"
                        for name, failure in failures)
    request = (
        f"I ran these tests. {len(failures)} failed:\n{report}\n\n"
        "For each failing test, work out from the code under test what it really returns "
        "for those arguments. Where the test expected the wrong value, correct the "
        "expectation; keep each test's name. Reply with a single "
        f"```{fence} code block holding only the corrected failing tests."
    )
    return [*messages, ChatMessage("assistant", answer), ChatMessage("user", request)]


def chat_coverage_messages(
    messages: list[ChatMessage], style: GenStyle, tests: list[str], uncovered: list[str],
) -> list[ChatMessage]:
    """The conversation that asks for tests of the lines the passing tests never run:
    the request, the tests as the model's answer, then the uncovered lines."""
    fence = _FENCE.get(style.language, style.language)
    answer = f"```{fence}\n" + style.separator.join(tests).strip("\n") + "\n```"
    lines = "\n".join(uncovered)
    request = (
        "These tests pass. These lines of the code under test never run in them "
        f"(line number: code):\n{lines}\n\n"
        "Write 2 more tests whose arguments make those lines run, with expected values you "
        "work out from the code. Reply with a single "
        f"```{fence} code block holding only the new tests."
    )
    return [*messages, ChatMessage("assistant", answer), ChatMessage("user", request)]
