"""Imports only go down. Every import of every module is checked — function-level imports included, so a
dependency cannot hide inside a function body.

Layers, lowest first: the foundation (``newsline.{schema,config,timeutil,sites,sections}``: the shared
contracts) < ``crawler`` (fetching and pure page parsing) < ``transforms`` (pure frames) < ``warehouse``
(storage) < the application (``newsline.*``: pipeline, CLI, DAG support, reports) < ``dags`` and ``bench``.
``demo_site`` stands beside the pipeline and may use only the foundation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RANK = {"foundation": 0, "crawler": 1, "transforms": 1, "warehouse": 3, "app": 4, "dags": 5, "bench": 5}
PACKAGES = ("core", "newsline", "crawler", "transforms", "warehouse", "demo_site", "dags", "bench")


def layer(module: str) -> str | None:
    top = module.split(".")[0]
    if top == "core":
        return "foundation"
    if top == "newsline":
        return "app"
    return top if top in PACKAGES else None


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(paths: list[Path]) -> list[str]:
    bad = []
    for path in paths:
        src = layer(module_name(path))
        for line, target in imports(path):
            dst = layer(target)
            if src is None or dst is None or dst == src:
                continue
            if src == "demo_site" or dst == "demo_site":
                ok = (src == "demo_site" and dst == "foundation") or (dst == "demo_site" and src in ("app", "bench"))
            else:
                ok = RANK[dst] < RANK[src] or (src == "bench" and dst == "dags")
            if not ok:
                bad.append(f"{path.relative_to(REPO)}:{line}: {src} imports {dst} ({target})")
    return bad


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def test_imports_only_go_down() -> None:
    assert violations(source_files()) == []


@pytest.mark.parametrize(("module", "body"), [
    ("core/schema.py", "def f():\n    from newsline.pipeline import crawl\n"),
    ("transforms/x.py", "from crawler.parsers import parser_for\n"),
    ("crawler/x.py", "import warehouse.articles\n"),
    ("transforms/x.py", "from newsline.cli import main\n"),
    ("demo_site/x.py", "from crawler.parsers import parser_for\n"),
])
def test_the_check_catches_an_upward_import(tmp_path: Path, module: str, body: str, monkeypatch) -> None:
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    path = tmp_path / module
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    assert len(violations([path])) == 1
