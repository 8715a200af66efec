"""Generate tests for the function, method or class at a position: what it takes and gives.

Plain feature code (no LSP types): find the target, decide where its tests go, build the
context, let the model write tests one at a time (a base model continues the test file from
a lead-in such as ``def test_restock_``; an instruction model answers a chat request), keep
each test only if it parses, uses the target, copies no earlier test and (Python) uses no
undefined name or fixture; rename on a name clash; retry once with the rejection reasons in
the prompt; optionally run the tests, repair failures and keep the tests that pass three
runs in a row and (Python) add coverage or catch a mutant (docs/generate-tests.md). The
result is a list of insertions into the test file (or its full text when it is new):
existing lines are never rewritten.

One module per job: ``testgen_generate`` (the model writes tests, each is checked),
``testgen_keep`` (run them, repair failures, keep what passes), ``testgen_write`` (imports
and insertions into the test file) and ``testgen_job`` (``GenJob``, the whole command).
Here: the request, the services, the result and the errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ghostline.context.testgen import find_target, parse_definitions
from ghostline.engine.base import Engine, ModelInfo
from ghostline.features.testgen_runner import RunResult
from ghostline.index.resolve import python_module
from ghostline.index.testgen_imports import Insertion
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import Target
from ghostline.settings import Settings

ProgressCallback = Callable[[str, "int | None"], None]


class GenError(Exception):
    """Nothing can be generated; the message is one sentence for the user."""


class GenerationCancelled(Exception):
    """The user cancelled the generation."""


class GenFileChanged(Exception):
    """The test file changed while tests were being written (the message says how)."""

    def __init__(self, reason: str, path: Path) -> None:
        super().__init__(reason)
        self.path = path


@dataclass
class GenRequest:
    """The document and position of the action (0-based line, UTF-8 byte column)."""

    path: Path
    text: str
    language: str
    line: int
    byte_col: int
    root: Path | None = None


CrossFile = Callable[[Path, str, Target], list[tuple[str, str]]]


@dataclass
class GenServices:
    """What the feature needs from the server."""

    engine: Engine
    model_info: ModelInfo | None
    settings: Settings
    read_text: Callable[[Path], str | None]
    #: Other files' code for the target (the context service under the test budget):
    #: (source path, source text, target) -> (path as shown, text) pairs in prompt order.
    #: None: the prompt shows the target's own file only.
    cross_file: CrossFile | None = None
    #: Test files the index knows for the source, nearest first (None: look on disk).
    existing_tests: list[Path] | None = None
    #: Says why the test file no longer matches what was read ("" while it does); polled
    #: between tests so a conflicting edit stops the work early.
    conflict: Callable[[Path], str] | None = None
    #: Run the generated tests before handing them over (the user's consent, resolved by
    #: the server from ``runGeneratedTests``): keep the ones that pass, repair the others.
    run_generated: bool = False


@dataclass
class GeneratedTests:
    """The edit to make: ``insertions`` into ``base_text`` (the test file as read; None
    when the file is new), giving ``new_text``."""

    target: str
    plan: GenPlan
    base_text: str | None
    insertions: list[Insertion]
    new_text: str
    tests: list[str]
    rejected: list[str] = field(default_factory=list)
    run: RunResult | None = None
    model_calls: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    #: Other files the prompt showed (as the prompt writes their paths).
    context_files: list[str] = field(default_factory=list)

    @property
    def creates_file(self) -> bool:
        return self.base_text is None


def target_at(request: GenRequest) -> Target | None:
    """The function, method or class at the request's position (None if there is none)."""
    module = python_module(request.path) if request.language == "python" else ""
    definitions = parse_definitions(request.text, request.path, request.language, module)
    return find_target(definitions, request.line, request.byte_col, request.text)



@dataclass
class Unit:
    """One generated test: its text as it goes into the file, and its name."""

    text: str
    name: str


__all__ = [
    "CrossFile",
    "GenError",
    "GenFileChanged",
    "GenRequest",
    "GenServices",
    "GeneratedTests",
    "GenerationCancelled",
    "ProgressCallback",
    "Unit",
    "target_at",
]
