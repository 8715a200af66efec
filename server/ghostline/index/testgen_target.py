"""What test generation is about: the target and the context gathered for it.

Data only. ``context.testgen`` builds them, ``prompts.testgen`` writes them into a prompt and
the ``features`` that generate, run and measure tests read them: the types sit below all
three, so none of them imports another sideways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ghostline.index.testgen_imports import ImportNeed
from ghostline.index.testgen_locations import GenPlan


@dataclass(frozen=True)
class Target:
    """The function, method or class to test. ``container``: the class of a method."""

    name: str
    qualified_name: str
    kind: str
    language: str
    path: Path
    source: str
    signature: str = ""
    doc: str = ""
    container: str | None = None
    module: str = ""
    #: First and last line (0-based) of the definition in its file.
    first_line: int = 0
    last_line: int = 0

    @property
    def importable_name(self) -> str:
        """What a test imports to reach the target (the class for a method)."""
        return self.container or self.name


@dataclass
class GenContext:
    """What the prompts show of the target and its test file."""

    target: Target
    plan: GenPlan
    source_imports: str = ""
    related: list[str] = field(default_factory=list)
    example: str = ""
    #: (path as prompts write it, text) of other files' code, in prompt order (most
    #: relevant last): what the context service chose for the target.
    cross_file: list[tuple[str, str]] = field(default_factory=list)
    existing_text: str | None = None
    existing_names: list[str] = field(default_factory=list)
    fixtures: list[str] = field(default_factory=list)
    #: Local name → the import that brings it into a test file (source definitions and the
    #: source file's own imports).
    importable: dict[str, ImportNeed] = field(default_factory=dict)
