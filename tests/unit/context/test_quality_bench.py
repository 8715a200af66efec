"""The quality benchmark's parts that need no model: mining, metrics, windows, report."""

import math
from pathlib import Path

import pytest

from ghostline.bench.quality import BenchConfig, Outcome, Runtime, llmls_item, make_arm
from ghostline.bench.quality_humaneval import HumanEvalItem, candidate_line, run_limited
from ghostline.bench.quality_items import mine_member_items, mine_open_items, mine_repository
from ghostline.bench.quality_metrics import (
    edit_similarity,
    exact_match,
    identifier_f1,
    identifier_match,
    paired_bootstrap,
)
from ghostline.bench.quality_report import report
from ghostline.bench.stats import percentile
from ghostline.context.tokenizer import EstimateCounter
from ghostline.core import AppCore
from ghostline.features.inline_completion import CompletionInput
from ghostline.index.workspace import WorkspaceIndex


def test_mined_items_put_the_cursor_before_the_first_use(index: WorkspaceIndex,
                                                         project: Path) -> None:
    items = mine_repository(index, project, cross=20, control=20)
    cross = [i for i in items if i.kind == "cross"]
    control = [i for i in items if i.kind == "control"]
    assert cross and control
    for item in items:
        original = Path(item.path).read_text()
        before = item.text[: item.offset]
        assert original.startswith(before)
        assert original[len(before):].startswith(item.answer)
        assert item.text == before + original[len(before) + len(item.answer):]
        assert item.answer.startswith(item.name)
    answers = {i.answer for i in cross}
    assert "make_vector(0.0, 0.0)" in answers  # report.py: imported from geometry.py
    assert "makeUser(name, 30));" in answers  # client.ts: imported from models.ts
    assert all("import" not in i.answer for i in items)


def test_trivial_answers_are_filtered(index: WorkspaceIndex, project: Path) -> None:
    items = mine_repository(index, project, cross=50, control=50)
    # ``Circle(origin, 1.0)`` in report.py is kept; ``User[] = names.map(...)`` starts with
    # the name and has code after it; but an answer that is only the name plus punctuation
    # (``Circle:``) never is.
    assert all(any(ch.isalnum() for ch in i.answer[len(i.name):]) for i in items)


def test_metrics() -> None:
    assert exact_match("  foo(bar)  \nmore", "foo(bar)")
    assert not exact_match("foo(baz)", "foo(bar)")
    assert edit_similarity("foo(bar)", "foo(bar)") == 100.0
    assert 0 < edit_similarity("foo(baz)", "foo(bar)") < 100
    assert edit_similarity("", "") == 100.0
    assert identifier_match("foo( bar )", "foo(bar)")
    assert not identifier_match("foo(baz)", "foo(bar)")
    assert identifier_f1("foo(baz)", "foo(bar)") == pytest.approx(0.5)


def test_paired_bootstrap_brackets_the_mean() -> None:
    a = [1.0] * 30 + [0.0] * 10
    b = [0.0] * 20 + [1.0] * 20
    value, low, high = paired_bootstrap(a, b, samples=500)
    assert value == pytest.approx(0.25)
    assert low < value < high
    same = paired_bootstrap(a, a, samples=200)
    assert same == (0.0, 0.0, 0.0)


def test_llmls_window_alternates_above_and_below() -> None:
    lines = [f"line{n:02d}" for n in range(40)]
    text = "\n".join(lines)
    offset = text.index("line20")
    item = CompletionInput("u", "f.py", "python", text, offset)
    cut = llmls_item(item, EstimateCounter(1.0), budget=60)
    before, after = cut.text[: cut.offset], cut.text[cut.offset:]
    above = before.count("\n")
    below = after.count("\n")
    assert abs(above - below) <= 1 and above >= 3
    assert len(cut.text) <= 60 + 2
    assert text[offset - len(before): offset] == before


def test_humaneval_candidates_run_under_limits() -> None:
    item = HumanEvalItem("t/0/L0", "def f(x):\n", "    return y\n", "    y = x + 1\n",
                         "def check(c):\n    assert c(1) == 2\n", "f")
    assert candidate_line(item, "    y = x + 1\nextra") == "    y = x + 1\n"
    program = item.prompt + "    y = x + 1\n" + item.suffix + item.test + "check(f)\n"
    assert run_limited(program)
    assert not run_limited(program.replace("x + 1", "x + 2"))
    assert not run_limited("while True:\n    pass\n", wall_seconds=0.5)


def test_report_has_every_table() -> None:
    def outcome(item: str, kind: str, condition: str, em: float) -> dict[str, object]:
        return Outcome(item, kind, condition, "x" if em else "", em, 100 * em, em, em,
                       1 - em, 0.5 + em / 3, 500, 0, 1.0, language="python").__dict__

    outcomes = []
    for n in range(10):
        outcomes.append(outcome(f"c{n}", "cross", "prefix", float(n < 2)))
        outcomes.append(outcome(f"c{n}", "cross", "ours", float(n < 6)))
    for n in range(4):
        outcomes.append(outcome(f"k{n}", "control", "prefix", 1.0))
        outcomes.append(outcome(f"k{n}", "control", "ours", float(n > 0)))
    text = report({"outcomes": outcomes, "repos": {"r": {"cross": 10, "control": 4}},
                   "kv_reuse": {"ours": 0.9}, "config": {"model": "m"}})
    assert "| ours | 10 | 60.0 |" in text
    assert "+40.0" in text  # ours - prefix on cross items
    assert "| ours | 4 | 75.0 | 75.0 | 25.0 | 1 / 4 |" in text  # harm on control items
    assert "min confidence" in text and "90.0%" in text


def test_member_items_put_the_cursor_after_self_or_this(index: WorkspaceIndex,
                                                       project: Path) -> None:
    items = mine_member_items(index, project, count=20)
    assert items and all(i.kind == "member" for i in items)
    for item in items:
        line_prefix = item.text[: item.offset].split("\n")[-1]
        assert line_prefix.endswith(("self.", "this."))
        assert not item.text[item.offset:].split("\n")[0].strip()  # the answer is cut out
    answers = {i.answer for i in items}
    assert "age >= 18;" in answers  # models.ts: ``return this.age >= 18;``
    assert all(not a.startswith(("x = ", "y = ")) for a in answers)  # assignments are not reads


def test_open_items_start_code_mid_line_outside_comments_and_strings(
        index: WorkspaceIndex, project: Path) -> None:
    items = mine_open_items(index, project, count=40)
    assert len(items) >= 10 and all(i.kind == "open" for i in items)
    assert len({i.answer for i in items}) == len(items)
    for item in items:
        line_prefix = item.text[: item.offset].split("\n")[-1]
        assert line_prefix.strip() and line_prefix[-1] in " ([,{"  # mid-line, after an opener
        assert not item.text[item.offset:].split("\n")[0].strip()  # the answer is cut out
        assert not item.answer[0].isspace()
        assert "#" not in line_prefix and not line_prefix.lstrip().startswith(("//", '"""'))
        whole_line = line_prefix + item.answer
        assert whole_line in (project / item.path).read_text()  # the line as written
    assert mine_open_items(index, project, count=40) == items  # reproducible


def test_prompt_recall_is_the_share_of_the_answers_names_in_the_prompt() -> None:
    from ghostline.bench.quality_metrics import prompt_recall

    answer = "urlparse(url, **kwargs)"
    assert prompt_recall(answer, "def urlparse(url, **kwargs):") == 1.0
    assert prompt_recall(answer, "from x import urlparse\nurl = 1") == 2 / 3
    assert prompt_recall(answer, "") == 0.0
    assert prompt_recall("()", "anything") is None


def test_percentile_is_the_nearest_rank() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 90) == 5.0
    assert percentile(values, 20) == 1.0 and percentile(values, 21) == 2.0
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert math.isnan(percentile([], 50))


def test_every_condition_writes_the_documents_path_as_the_server_does(
        index: WorkspaceIndex, project: Path) -> None:
    # The runtime is only read when a completion runs; none runs here.
    core = AppCore(engine_factory=lambda settings: None)  # type: ignore[arg-type, return-value]
    runtime = Runtime(engine=None, info=None, template=None, counter=None, core=core)  # type: ignore[arg-type]
    document = str(project / "pkg" / "new.py")
    shown = {condition: make_arm(runtime, index, BenchConfig(), condition).shown_path(document)
             for condition in ("prefix", "bm25", "ours")}
    assert set(shown.values()) == {"pkg/new.py"}
    no_index = make_arm(runtime, None, BenchConfig(), "prefix")
    assert no_index.shown_path("/humaneval/HumanEval_1.py") == "/humaneval/HumanEval_1.py"
