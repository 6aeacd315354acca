"""The one code table: every code the source uses is in it, in one style, and in the README."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from wheelset.codes import CODES, ERROR_FAMILY
from wheelset.model.findings import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
STYLE = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*")
# A string that looks like a code: upper case words joined by '-' or '_' (the wrong style).
LOOKS_LIKE_CODE = re.compile(r"[A-Z][A-Z0-9]*([-_][A-Z0-9]+)*")
# Calls whose first positional arguments include a code.
_CODE_ARGS = {"Finding": (1,), "WheelProblem": (0,), "Problem": (1,), "add": (0,)}


def _strings(node: ast.AST | None) -> Iterator[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for element in node.elts:
            yield from _strings(element)


def _code_nodes(tree: ast.AST) -> Iterator[ast.Constant]:
    """String constants used as a code: ``code=`` arguments (of calls and of class
    statements) and defaults, assignments to ``code``, comparisons with ``.code``, and the
    code argument of findings/problems."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call | ast.ClassDef):
            for keyword in node.keywords:
                if keyword.arg == "code":
                    yield from _strings(keyword.value)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "add" and not (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "problems"
            ):
                continue
            for index in _CODE_ARGS.get(name, ()):
                if index < len(node.args):
                    yield from _strings(node.args[index])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = [
                *zip(
                    positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
                ),
                *zip(args.kwonlyargs, args.kw_defaults, strict=True),
            ]
            for arg, default in pairs:
                if arg.arg == "code":
                    yield from _strings(default)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "code":
                    yield from _strings(node.value)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for part, value in zip(target.elts, node.value.elts, strict=False):
                        if isinstance(part, ast.Name) and part.id == "code":
                            yield from _strings(value)
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Attribute)
            and node.left.attr == "code"
        ):
            for comparator in node.comparators:
                yield from _strings(comparator)


def _used_codes() -> dict[str, str]:
    used: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "wheelset").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _code_nodes(tree):
            if LOOKS_LIKE_CODE.fullmatch(node.value):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                used.setdefault(node.value, where)
    return used


def test_every_code_used_in_the_source_is_in_the_table() -> None:
    used = _used_codes()
    assert len(used) > 40  # the scan finds the codes it is meant to find
    assert {code: where for code, where in used.items() if code not in CODES} == {}


def test_every_code_has_one_style_a_family_and_a_meaning() -> None:
    assert [code for code in CODES if not STYLE.fullmatch(code)] == []
    families = {family for family, _meaning in CODES.values()}
    assert families == {*FAMILIES, ERROR_FAMILY}
    assert [code for code, (_f, meaning) in CODES.items() if not meaning.strip()] == []


def test_the_readme_table_is_the_code_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([A-Z0-9-]+)` \| (\S+) \| (.+) \|$", readme, re.M)
    assert {code: (family, meaning) for code, family, meaning in rows} == CODES
    assert len(rows) == len(CODES)


def test_each_code_is_listed_in_one_family_only() -> None:
    # The table is written family by family; a code listed twice would silently keep
    # only its last meaning.
    source = (ROOT / "src/wheelset/codes.py").read_text(encoding="utf-8")
    listed = re.findall(r'^\s+"([A-Z][A-Z0-9-]*)": ', source, flags=re.MULTILINE)
    assert sorted(listed) == sorted(CODES)
