"""The package's layers, read statically from every import (module level and inside functions):
no import cycles, lower layers never import a task package, no verb imports ``voicetools.cli``, and no
``_private`` name is imported from another package (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "voicetools"
TASKS = {"separation", "vocals", "transcribe", "revoice", "classify", "diarize", "pronounce", "app"}
LOWER = (
    "nn",
    "audio",
    "train",
    "data",
    "checkpoints",
    "chunking",
    "files",
    "outputs",
    "errors",
    "version",
    "official_weights",
    "cli_common",
)


def _modules() -> dict[str, Path]:
    mods = {}
    for f in ROOT.rglob("*.py"):
        name = ".".join(f.relative_to(ROOT.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = f
    return mods


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import of a voicetools module in ``name``."""
    path = MODULES[name]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".")
                keep = len(parts) - node.level + (1 if path.name == "__init__.py" else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for a in node.names:
                full = f"{base}.{a.name}"
                out.append((full, None, node.lineno) if full in MODULES else (base, a.name, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
    resolved = []
    for target, what, line in out:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.append((target, what, line))
    return resolved


GRAPH = {m: _imports(m) for m in MODULES}


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_no_import_cycles():
    # a package importing its own submodules (re-exports) is not an edge: the submodule never imports it back
    edges = {m: {t for t, _, _ in GRAPH[m] if not t.startswith(m + ".")} for m in MODULES}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in MODULES:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("layer", LOWER)
def test_lower_layers_never_import_a_task(layer):
    up = [
        f"{m}:{line} imports {t}"
        for m in MODULES
        if _layer(m) == layer
        for t, _, line in GRAPH[m]
        if _layer(t) in TASKS
    ]
    assert not up, up


def test_no_module_imports_the_top_level_cli():
    assert not [m for m in MODULES if any(t == "voicetools.cli" for t, _, _ in GRAPH[m])]


def test_no_private_name_crosses_a_package():
    private = [
        f"{m}:{line} imports {what} from {t}"
        for m in MODULES
        for t, what, line in GRAPH[m]
        if what and what.startswith("_") and not what.startswith("__") and _layer(t) != _layer(m)
    ]
    assert not private, private


def test_every_verb_module_is_listed_and_adds_a_parser():
    from voicetools.cli import VERB_MODULES

    verbs = {m for m in MODULES if m.endswith(".cli") and m != "voicetools.cli"} | {"voicetools.models_cli"}
    assert verbs == set(VERB_MODULES)
    for name in VERB_MODULES:
        assert "def add_parser(" in MODULES[name].read_text(), name
