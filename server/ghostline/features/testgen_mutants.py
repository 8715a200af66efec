"""Mutants of the target function, and whether the kept tests catch them (Python).

A mutant is one small AST edit of the function (a comparison or an arithmetic operator
swapped, an int constant or a boolean changed, a returned value replaced by None, an
``if`` negated). The user's file is never touched: each mutant runs the tests with a small
pytest plugin (written to a temp folder on ``PYTHONPATH``) that, at ``pytest_configure``,
compiles the mutated ``def`` in a copy of the module's globals and gives the original
function object the new ``__code__``, so every reference to the function, imported or not,
runs the mutant. A mutant is caught when any test fails (or the run times out).
"""

from __future__ import annotations

import ast
import asyncio
import copy
import json
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ghostline.features.testgen_runner import (
    RunOptions,
    RunResult,
    _has_module,
    _project_python,
    run_tests,
)
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import Target

MAX_MUTANTS = 8
CONCURRENT_RUNS = 2
PLUGIN_MODULE = "ghostline_mutant_plugin"
SPEC_VARIABLE = "GHOSTLINE_MUTANT"

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**",
}
#: Which edit is tried first on a line that allows several.
_RANK = {"compare": 0, "binop": 1, "bool": 2, "if": 3, "return": 4, "int": 5}

#: The pytest plugin: swaps the function's code for the mutant's, or says why it cannot.
PLUGIN_SOURCE = '''"""Ghostline: run the tests against a mutant of one function."""
import importlib
import json
import os

import pytest


def _function(owner, name):
    raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    if isinstance(raw, (staticmethod, classmethod)):
        raw = raw.__func__
    if isinstance(raw, property):
        raw = raw.fget
    for _ in range(20):
        if not hasattr(raw, "__wrapped__"):
            break
        raw = raw.__wrapped__
    return raw


def _swap(spec):
    module = importlib.import_module(spec["module"])
    parts = spec["qualname"].split(".")
    owner = module
    for part in parts[:-1]:
        owner = getattr(owner, part)
    original = _function(owner, parts[-1])
    code = getattr(original, "__code__", None)
    if code is None or code.co_name != parts[-1]:
        return "the function is wrapped by a decorator"
    if set(code.co_freevars) - {"__class__"}:
        return "the function uses variables of an enclosing function (a closure)"
    namespace = dict(vars(module))
    exec(compile(spec["source"], getattr(module, "__file__", None) or "<mutant>", "exec"),
         namespace)
    new = namespace[spec["container"]].__dict__ if spec["container"] else namespace
    mutant = new[parts[-1]]
    if mutant.__code__.co_freevars != code.co_freevars:
        return "the function's free variables differ in the mutant"
    original.__code__ = mutant.__code__
    return "ok"


def pytest_configure(config):
    spec = json.loads(os.environ["''' + SPEC_VARIABLE + '''"])
    try:
        status = _swap(spec)
    except Exception as exc:
        status = f"{type(exc).__name__}: {exc}"
    with open(spec["status"], "w", encoding="utf-8") as handle:
        handle.write(status)
    if status != "ok":
        pytest.exit(status, returncode=4)
'''


@dataclass(frozen=True)
class Mutant:
    """One edit of the function: where, what, and the mutated ``def`` (inside ``class
    <container>:`` for a method, so private names are mangled as in the original)."""

    line: int
    description: str
    source: str


@dataclass
class MutantResult:
    description: str
    caught: bool
    caught_by: list[str] = field(default_factory=list)


@dataclass
class MutantReport:
    items: list[MutantResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def caught(self) -> int:
        return sum(1 for item in self.items if item.caught)


@dataclass
class MutantOutcome:
    """A report, or why the mutants were not run (``note``), and the seconds it took."""

    report: MutantReport | None
    note: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class _Site:
    """A possible edit: the node's index in ``ast.walk`` order of the function."""

    node: int
    kind: str
    line: int
    description: str
    slot: int = 0


FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def make_mutants(source: str, target: Target, limit: int = MAX_MUTANTS) -> list[Mutant] | str:
    """Up to ``limit`` mutants of the target, spread over its lines; or why there are none."""
    if target.kind not in ("function", "method"):
        return f"{target.name} is a {target.kind}, not a function"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return f"the source does not parse ({exc.msg})"
    function = _find(tree, target)
    if function is None:
        return f"{target.name} was not found in {target.path.name}"
    sites = _choose(_sites(function), limit)
    if not sites:
        return f"{target.name} has nothing to mutate"
    mutants = []
    for site in sites:
        text = _mutated(function, site, target.container)
        try:
            compile(text, "<mutant>", "exec")
        except SyntaxError:
            continue
        mutants.append(Mutant(site.line, f"line {site.line}: {site.description}", text))
    return mutants or f"{target.name} has nothing to mutate"


def _find(tree: ast.Module, target: Target) -> FunctionNode | None:
    first, last = target.first_line + 1, target.last_line + 1
    for node in ast.walk(tree):
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name == target.name and first <= node.lineno <= last):
            return node
    return None


def _skipped(function: FunctionNode) -> set[int]:
    """Ids of nodes no edit may touch: decorators, the signature, the docstring,
    annotations and f-strings (only the body's behaviour is mutated)."""
    roots: list[ast.AST] = [*function.decorator_list, function.args]
    if function.returns is not None:
        roots.append(function.returns)
    body = function.body
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        roots.append(body[0])
    for node in ast.walk(function):
        if isinstance(node, (ast.AnnAssign, ast.arg)) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            roots.append(node)
    return {id(n) for root in roots for n in ast.walk(root)}


def _sites(function: FunctionNode) -> list[_Site]:
    skipped = _skipped(function)
    sites: list[_Site] = []
    for index, node in enumerate(ast.walk(function)):
        if index and id(node) not in skipped:
            sites.extend(_node_sites(index, node))
    return sites


def _node_sites(index: int, node: ast.AST) -> list[_Site]:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Compare):
        return [_Site(index, "compare", line, _swap_text(op, _COMPARE_SWAPS[type(op)]), slot)
                for slot, op in enumerate(node.ops) if type(op) in _COMPARE_SWAPS]
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINOP_SWAPS:
        suffix = "=" if isinstance(node, ast.AugAssign) else ""
        return [_Site(index, "binop", line,
                      _swap_text(node.op, _BINOP_SWAPS[type(node.op)], suffix))]
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return [_Site(index, "bool", line, f"`{node.value}` → `{not node.value}`")]
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return [_Site(index, "int", line, f"`{node.value}` → `{node.value + 1}`")]
    if isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        return [_Site(index, "return", line,
                      f"`return {_short(node.value)}` → `return None`")]
    if isinstance(node, ast.If):
        test = _short(node.test)
        return [_Site(index, "if", line, f"`if {test}` → `if not ({test})`")]
    return []


def _swap_text(old: ast.AST, new: type[ast.AST], suffix: str = "") -> str:
    return f"`{_SYMBOLS[type(old)]}{suffix}` → `{_SYMBOLS[new]}{suffix}`"


def _short(node: ast.AST, limit: int = 40) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choose(sites: list[_Site], limit: int) -> list[_Site]:
    """One edit per line first (lines spread evenly when there are more than ``limit``),
    then second edits of the same lines, and so on."""
    by_line: dict[int, list[_Site]] = {}
    for site in sorted(sites, key=lambda s: (s.line, _RANK[s.kind], s.node, s.slot)):
        by_line.setdefault(site.line, []).append(site)
    lines = sorted(by_line)
    chosen: list[_Site] = []
    depth = 0
    while len(chosen) < limit:
        row = [by_line[line][depth] for line in lines if len(by_line[line]) > depth]
        if not row:
            break
        chosen.extend(_spread(row, limit - len(chosen)))
        depth += 1
    return sorted(chosen, key=lambda s: (s.line, _RANK[s.kind], s.node, s.slot))


def _spread(items: list[_Site], count: int) -> list[_Site]:
    if len(items) <= count:
        return items
    return [items[i * len(items) // count] for i in range(count)]


def _mutated(function: FunctionNode, site: _Site, container: str | None) -> str:
    """The function's source with the edit, without decorators, defaults or annotations
    (only its ``__code__`` is used; those would be evaluated when the ``def`` runs)."""
    copied = copy.deepcopy(function)
    _apply(list(ast.walk(copied))[site.node], site)
    copied.decorator_list = []
    copied.returns = None
    arguments = copied.args
    arguments.defaults = []
    arguments.kw_defaults = [None] * len(arguments.kwonlyargs)
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     arguments.vararg, arguments.kwarg):
        if argument is not None:
            argument.annotation = None
    text = ast.unparse(ast.fix_missing_locations(copied))
    if container:
        text = f"class {container}:\n" + textwrap.indent(text, "    ")
    return text + "\n"


def _apply(node: ast.AST, site: _Site) -> None:
    if isinstance(node, ast.Compare):
        node.ops[site.slot] = _COMPARE_SWAPS[type(node.ops[site.slot])]()
    elif isinstance(node, (ast.BinOp, ast.AugAssign)):
        node.op = _BINOP_SWAPS[type(node.op)]()
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        node.value = not node.value
    elif isinstance(node, ast.Constant) and isinstance(node.value, int):
        node.value = node.value + 1
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(None)
    elif isinstance(node, ast.If):
        node.test = ast.UnaryOp(ast.Not(), node.test)


async def run_mutants(
    plan: GenPlan, candidate: str, names: list[str], target: Target, time_limit_s: float,
    mutants: list[Mutant] | None = None, on_start: Callable[[int], None] | None = None,
) -> MutantOutcome:
    """Run ``names`` against each mutant (``mutants``, else :func:`make_mutants`), at most
    :data:`CONCURRENT_RUNS` at a time; ``on_start`` hears how many before they run."""
    started = time.perf_counter()
    outcome = await _run_all(plan, candidate, names, target, time_limit_s, mutants, on_start)
    outcome.seconds = time.perf_counter() - started
    return outcome


async def _run_all(
    plan: GenPlan, candidate: str, names: list[str], target: Target, time_limit_s: float,
    mutants: list[Mutant] | None, on_start: Callable[[int], None] | None,
) -> MutantOutcome:
    if plan.language != "python":
        return MutantOutcome(None, "mutants not run: only Python functions are mutated")
    if not _has_module(_project_python(plan.project_root or plan.path.parent), "pytest"):
        return MutantOutcome(None, "mutants not run: pytest is not installed for this project")
    if mutants is None:
        try:
            source = target.path.read_text(encoding="utf-8")
        except OSError as exc:
            return MutantOutcome(None, f"mutants not run: {exc.strerror}")
        made = make_mutants(source, target)
        if isinstance(made, str):
            return MutantOutcome(None, f"mutants not run: {made}")
        mutants = made
    if on_start is not None:
        on_start(len(mutants))
    with tempfile.TemporaryDirectory(prefix="ghostline-mutants-") as folder:
        (Path(folder) / f"{PLUGIN_MODULE}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
        gate = asyncio.Semaphore(CONCURRENT_RUNS)

        async def one(index: int, mutant: Mutant) -> tuple[RunResult, str]:
            async with gate:
                return await _run_one(plan, candidate, names, target, mutant,
                                      Path(folder) / f"status{index}", time_limit_s)

        results = await asyncio.gather(*(one(i, m) for i, m in enumerate(mutants)))
    items: list[MutantResult] = []
    for mutant, (run, status) in zip(mutants, results, strict=True):
        if not run.ran:
            return MutantOutcome(None, f"mutants not run: {run.reason}")
        if status != "ok":
            return MutantOutcome(None, "mutants not run: "
                                 + (status or "the mutation plugin did not load"))
        caught_by = [n for n in names if n not in run.passed]
        items.append(MutantResult(mutant.description, bool(caught_by), caught_by))
    return MutantOutcome(MutantReport(items))


async def _run_one(
    plan: GenPlan, candidate: str, names: list[str], target: Target, mutant: Mutant,
    status: Path, time_limit_s: float,
) -> tuple[RunResult, str]:
    """The tests' result against one mutant, and the plugin's status ("ok" or why not)."""
    spec = {"module": plan.import_from, "qualname": target.qualified_name,
            "container": target.container or "", "source": mutant.source,
            "status": str(status)}
    options = RunOptions(pytest_args=("-p", PLUGIN_MODULE), python_path=(str(status.parent),),
                         env={SPEC_VARIABLE: json.dumps(spec)})
    run = await run_tests(plan, candidate, names, time_limit_s, options)
    try:
        text = status.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return run, text


__all__ = [
    "MAX_MUTANTS",
    "Mutant",
    "MutantOutcome",
    "MutantReport",
    "MutantResult",
    "make_mutants",
    "run_mutants",
]
