"""Benchmark items mined with tree-sitter from a repository folder (CrossCodeEval style).

A cross-file item puts the cursor right before the first use, in a file, of a name that
file imports from another file of the same repository; the answer is the rest of that line.
A control item does the same for a name defined earlier in the same file (nothing from
other files is needed). Filters drop trivial answers (only punctuation after the name),
lines already written earlier in the file, over-long lines and repeated answers.

The item's document is the file with the answer removed from its line (the text below
stays, as in an editor); what retrieval may see of it is only the text before the cursor.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import tree_sitter

from ghostline.index.languages import LanguageSpec, spec_by_name, spec_for_path
from ghostline.index.model import Import
from ghostline.index.node_text import node_text
from ghostline.index.parser import iter_nodes
from ghostline.index.workspace import WorkspaceIndex

ItemKind = Literal["cross", "control", "member", "open"]
MIN_ANSWER = 6
MAX_ANSWER = 100
MAX_PER_FILE = 3
#: Uses of a same-file name tried for a control item (the first may be trivial).
CONTROL_TRIES = 3
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$]")
_CONTROL_KINDS = frozenset({"function", "class", "constant", "variable", "interface", "type",
                            "enum", "struct"})


@dataclass(frozen=True)
class Item:
    id: str
    kind: ItemKind
    repo: str
    path: str
    language: str
    #: The file with the answer cut out of its line; the cursor is at `offset`.
    text: str
    offset: int
    answer: str
    name: str

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.offset)

    @property
    def language_id(self) -> str:
        return "typescript" if self.language == "typescript" else self.language


@dataclass(frozen=True)
class _Use:
    line: int
    col: int  # character column
    offset: int  # character offset in the text


def mine_repository(index: WorkspaceIndex, root: Path, *, cross: int, control: int,
                    seed: int = 0, languages: tuple[str, ...] = ("python", "typescript"),
                    ) -> list[Item]:
    """Up to `cross` cross-file items and `control` in-file items from the files under
    `root` that `index` (already scanned) knows, sampled reproducibly with `seed`."""
    rng = random.Random(seed)
    files = [p for p in index.all_files() if p.is_relative_to(root)]
    rng.shuffle(files)
    cross_items: list[Item] = []
    control_items: list[Item] = []
    seen_answers: set[str] = set()
    for path in files:
        spec = spec_for_path(str(path))
        if spec is None or spec.name not in languages:
            continue
        text = index.file_text(path)
        if text is None or "\r" in text:
            continue
        found_cross, found_control = _file_items(index, root, path, spec.name, text, rng)
        for bucket, found, cap in ((cross_items, found_cross, cross),
                                   (control_items, found_control, control)):
            for item in found:
                if len(bucket) >= cap or item.answer in seen_answers:
                    continue
                seen_answers.add(item.answer)
                bucket.append(item)
        if len(cross_items) >= cross and len(control_items) >= control:
            break
    return cross_items + control_items


def _file_items(index: WorkspaceIndex, root: Path, path: Path, language: str, text: str,
                rng: random.Random) -> tuple[list[Item], list[Item]]:
    spec = spec_by_name(language)
    assert spec is not None
    data = text.encode("utf-8")
    tree = spec.parser().parse(data)
    lines = text.split("\n")
    line_offsets = _line_offsets(lines)
    imports = index.imports(path)
    imported = _imported_names(imports, path, root)
    cross: list[Item] = []
    for name, import_line in imported:
        for use in _uses(tree, data, line_offsets, name, after_line=import_line,
                         identifier_types=spec.rules.identifier_types):
            item = _make_item("cross", root, path, language, text, lines, use, name)
            if item is not None:
                cross.append(item)
            break  # the first use only: it is the one that needs the other file most
    control: list[Item] = []
    imported_set = {name for name, _ in imported}
    for definition in index.symbols(path):
        if definition.parent is not None or definition.kind not in _CONTROL_KINDS:
            continue
        if definition.name in imported_set or len(definition.name) < 3:
            continue
        uses = _uses(tree, data, line_offsets, definition.name,
                     after_line=definition.span.end_line,
                     identifier_types=spec.rules.identifier_types)
        for _, use in zip(range(CONTROL_TRIES), uses, strict=False):
            item = _make_item("control", root, path, language, text, lines, use,
                              definition.name)
            if item is not None:
                control.append(item)
                break
    rng.shuffle(cross)
    rng.shuffle(control)
    return cross[:MAX_PER_FILE], control[:1]


def _imported_names(imports: list[Import], path: Path, root: Path) -> list[tuple[str, int]]:
    """(local name, import line) of names imported from other workspace files."""
    found: list[tuple[str, int]] = []
    for imp in imports:
        if imp.resolved is None or imp.resolved == path or not imp.resolved.is_relative_to(root):
            continue
        if imp.names:
            found.extend((n.local_name, imp.line) for n in imp.names if n.name != "*")
        elif imp.alias:
            found.append((imp.alias, imp.line))
    return list(dict.fromkeys(found))


def _line_offsets(lines: list[str]) -> list[int]:
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    return offsets


def _uses(tree: tree_sitter.Tree, data: bytes, line_offsets: list[int], name: str,
          after_line: int, identifier_types: frozenset[str]) -> Iterator[_Use]:
    """Identifiers `name` below `after_line` that are not part of an import or the name
    of a declaration, in order."""
    pattern = re.compile(rb"(?<![A-Za-z0-9_$])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9_$])")
    root = tree.root_node
    for match in pattern.finditer(data):
        node = root.descendant_for_byte_range(match.start(), match.end())
        if node is None or node.type not in identifier_types:
            continue
        if node.start_point.row <= after_line or _in_import(node) or _is_declared(node):
            continue
        row = node.start_point.row
        line_bytes = data[data.rfind(b"\n", 0, match.start()) + 1 : match.start()]
        col = len(line_bytes.decode("utf-8", errors="replace"))
        yield _Use(row, col, line_offsets[row] + col)


def _is_declared(node: tree_sitter.Node) -> bool:
    """The name of a declaration (an overload, a redefinition), not a use."""
    parent = node.parent
    return parent is not None and parent.child_by_field_name("name") == node


def _in_import(node: tree_sitter.Node) -> bool:
    current: tree_sitter.Node | None = node
    while current is not None:
        kind = current.type
        if "import" in kind or kind == "export_clause":
            return True
        current = current.parent
    return False


def _make_item(kind: ItemKind, root: Path, path: Path, language: str, text: str,
               lines: list[str], use: _Use, name: str, trivial_ok: bool = False
               ) -> Item | None:
    line = lines[use.line]
    answer = line[use.col :].rstrip()
    if not (MIN_ANSWER <= len(answer) <= MAX_ANSWER) or not answer.startswith(name):
        return None
    if not trivial_ok and not _IDENT_CHAR.search(answer[len(name):]):
        return None  # only punctuation after the name: trivial
    if line.strip() in {other.strip() for other in lines[: use.line]}:
        return None  # the same line was written above: copying it is trivial
    document = text[: use.offset] + text[use.offset + len(answer) :]
    relative = path.relative_to(root).as_posix()
    return Item(
        id=f"{root.name}/{relative}:{use.line + 1}", kind=kind, repo=str(root),
        path=str(path), language=language, text=document, offset=use.offset, answer=answer,
        name=name,
    )


#: Characters after which an expression can start mid-line (an open position's left side).
_EXPRESSION_OPENERS = " ([,{"
_NOT_CODE = ("comment", "string")
_SELF_OBJECTS = {"attribute": ("object", "attribute", {"self", "cls"}),
                 "member_expression": ("object", "property", {"this"})}

#: Finds a file's candidate items: (root, path, language, text, random source) -> items.
FileItems = Callable[[Path, Path, LanguageSpec, str, random.Random], list[Item]]


def _sample_per_file(index: WorkspaceIndex, root: Path, count: int, rng: random.Random,
                     languages: tuple[str, ...], file_items: FileItems) -> list[Item]:
    """Up to `count` items from the files under `root` in a random order, at most
    `MAX_PER_FILE` (chosen at random) from each, no answer twice."""
    files = [p for p in index.all_files() if p.is_relative_to(root)]
    rng.shuffle(files)
    items: list[Item] = []
    seen_answers: set[str] = set()
    for path in files:
        spec = spec_for_path(str(path))
        text = index.file_text(path)
        if spec is None or spec.name not in languages or text is None or "\r" in text:
            continue
        found = [item for item in file_items(root, path, spec, text, rng)
                 if item.answer not in seen_answers]
        rng.shuffle(found)
        for item in found[:MAX_PER_FILE]:
            seen_answers.add(item.answer)
            items.append(item)
        if len(items) >= count:
            break
    return items[:count]


def mine_member_items(index: WorkspaceIndex, root: Path, *, count: int, seed: int = 0,
                      languages: tuple[str, ...] = ("python", "typescript")) -> list[Item]:
    """Items with the cursor right after ``self.`` / ``this.`` (the first such read of each
    member in a file); the answer is the rest of the line. They measure what knowing the
    class's members at decoding time adds."""
    return _sample_per_file(index, root, count, random.Random(seed + 1), languages,
                            _member_items)


def _member_items(root: Path, path: Path, spec: LanguageSpec, text: str,
                  rng: random.Random) -> list[Item]:
    data = text.encode("utf-8")
    lines = text.split("\n")
    offsets = _line_offsets(lines)
    found: list[Item] = []
    members: set[str] = set()
    for node in iter_nodes(spec.parser().parse(data).root_node):
        shape = _SELF_OBJECTS.get(node.type)
        if shape is None:
            continue
        owner = node.child_by_field_name(shape[0])
        member = node.child_by_field_name(shape[1])
        if owner is None or member is None:
            continue
        name = node_text(member)
        if node_text(owner) not in shape[2] or name in members or _assigned(node):
            continue
        members.add(name)
        row = member.start_point.row
        col = len(data[data.rfind(b"\n", 0, member.start_byte) + 1 : member.start_byte]
                  .decode("utf-8", "replace"))
        item = _make_item("member", root, path, spec.name, text, lines,
                          _Use(row, col, offsets[row] + col), name, trivial_ok=True)
        if item is not None:
            found.append(item)
    return found


def mine_open_items(index: WorkspaceIndex, root: Path, *, count: int, seed: int = 0,
                    languages: tuple[str, ...] = ("python", "typescript")) -> list[Item]:
    """Items at ordinary positions, whatever comes next: in each file, one random place
    per line where code starts mid-line (after a space, ``(``, ``[``, ``,`` or ``{``, not
    in a comment or string); the answer is the rest of the line. Unlike the cross-file
    items, nothing here favours positions where the workspace's names are needed, so a
    use of context or of decoding-time knowledge that helps only where it is designed to
    fire and costs elsewhere shows here."""
    return _sample_per_file(index, root, count, random.Random(seed + 2), languages,
                            _open_items)


def _open_items(root: Path, path: Path, spec: LanguageSpec, text: str,
                rng: random.Random) -> list[Item]:
    tree = spec.parser().parse(text.encode("utf-8"))
    lines = text.split("\n")
    offsets = _line_offsets(lines)
    line_bytes = [0]
    for line in lines:
        line_bytes.append(line_bytes[-1] + len(line.encode("utf-8")) + 1)
    found: list[Item] = []
    for row, line in enumerate(lines):
        columns = [c for c in range(1, len(line)) if line[c - 1] in _EXPRESSION_OPENERS
                   and not line[c].isspace() and line[:c].strip()]
        if not columns:
            continue
        col = rng.choice(columns)
        if _inside(tree.root_node, line_bytes[row] + len(line[:col].encode("utf-8")),
                   _NOT_CODE):
            continue
        item = _make_item("open", root, path, spec.name, text, lines,
                          _Use(row, col, offsets[row] + col), "", trivial_ok=True)
        if item is not None:
            found.append(item)
    return found


def _inside(root: tree_sitter.Node, byte: int, kinds: tuple[str, ...]) -> bool:
    """Whether the node at `byte` is, or lies in, a node whose type mentions one of
    `kinds` (``comment``, ``string``, ``template_string``, ``string_content`` …)."""
    node: tree_sitter.Node | None = root.descendant_for_byte_range(byte, byte)
    while node is not None:
        if any(kind in node.type for kind in kinds):
            return True
        node = node.parent
    return False


def _assigned(node: tree_sitter.Node) -> bool:
    """``self.x = …``: the target of an assignment (a definition, not a read)."""
    parent = node.parent
    return parent is not None and parent.type in ("assignment", "assignment_expression",
                                                  "augmented_assignment") \
        and parent.child_by_field_name("left") == node
