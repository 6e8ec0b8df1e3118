"""DESIGN.md boundaries as rules: the core never imports Qt (so the CLI, the watcher and the
bundle's headless smoke test run without a display), and TensorFlow is only imported inside
functions (so `inknotes --help` and the app start fast)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "inknotes"


def _imports(tree: ast.AST, top_level_only: bool) -> list[tuple[int, str]]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))  # type: ignore[attr-defined]
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _modules() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in sorted(PACKAGE.rglob("*.py"))]


def test_core_never_imports_qt():
    bad = [f"{p.relative_to(PACKAGE.parent)}:{line} imports {name}"
           for p, tree in _modules() if "gui" not in p.relative_to(PACKAGE).parts
           for line, name in _imports(tree, top_level_only=False)
           if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6")]
    assert bad == []


def test_tensorflow_is_imported_lazily():
    bad = [f"{p.relative_to(PACKAGE.parent)}:{line} imports {name} at module level"
           for p, tree in _modules() for line, name in _imports(tree, top_level_only=True)
           if name.split(".")[0].startswith("tensorflow")]
    assert bad == []
