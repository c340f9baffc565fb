"""AST scan for side effects that import-linter cannot see (it only knows root packages)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

_WRITES = "files are written only in ego_cl.runners"
_TB = "TensorBoard is written only from ego_cl.runners"

FORBIDDEN_DOTTED = {
    "torch.multiprocessing": "process pools belong in ego_cl.runners",
    "multiprocessing": "process pools belong in ego_cl.runners",
    "structlog.configure": "logging is configured only in ego_cl.runners",
    "torch.cuda.set_device": "device choice belongs in ego_cl.runners",
    "SummaryWriter": "TensorBoard is written only from ego_cl.runners",
    "torch.save": "files are written only in ego_cl.runners",
    "torch.manual_seed": "global seeding belongs in ego_cl.runners",
    "random.seed": "global seeding belongs in ego_cl.runners",
    "np.random.seed": "global seeding belongs in ego_cl.runners",
    "os.replace": "files are written only in ego_cl.runners",
    "os.rename": "files are written only in ego_cl.runners",
    "os.remove": "files are written only in ego_cl.runners",
    "os.makedirs": "files are written only in ego_cl.runners",
    "shutil": "files are written only in ego_cl.runners",
    "pq.write_table": "files are written only in ego_cl.runners",
}
FORBIDDEN_METHODS = {
    "write_text": "files are written only in ego_cl.runners",
    "write_bytes": "files are written only in ego_cl.runners",
    "mkdir": "files are written only in ego_cl.runners",
    "unlink": "files are written only in ego_cl.runners",
    "cuda": "device choice belongs in ego_cl.runners (use .to(device))",
}


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _open_mode(call: ast.Call) -> str:
    mode_node = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode_node = kw.value
    if isinstance(mode_node, ast.Constant) and isinstance(mode_node.value, str):
        return mode_node.value
    return "r" if mode_node is None else "?"


def violations(source: str, filename: str) -> Iterator[str]:
    """Yield ``file:line: what (why)`` for every side effect found in ``source``."""
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else None
            full = [f"{module}.{n}" if module else n for n in names] + ([module] if module else [])
            for name in full:
                for bad, why in FORBIDDEN_DOTTED.items():
                    if name == bad or name.startswith(bad + ".") or name.endswith("." + bad):
                        yield f"{filename}:{node.lineno}: imports {name} ({why})"
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name is not None:
                for bad, why in FORBIDDEN_DOTTED.items():
                    if name == bad or name.startswith(bad + ".") or name.endswith("." + bad):
                        yield f"{filename}:{node.lineno}: calls {name} ({why})"
                if name in {"open", "io.open"} and set(_open_mode(node)) & set("wax+?"):
                    yield f"{filename}:{node.lineno}: opens a file for writing ({_WRITES})"
            if isinstance(node.func, ast.Attribute) and node.func.attr in FORBIDDEN_METHODS:
                why = FORBIDDEN_METHODS[node.func.attr]
                yield f"{filename}:{node.lineno}: calls .{node.func.attr}() ({why})"
        elif isinstance(node, ast.Name) and node.id == "SummaryWriter":
            yield f"{filename}:{node.lineno}: uses SummaryWriter ({_TB})"


def _unique(lines: Iterator[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def scan_package(root: Path) -> list[str]:
    """All violations in ``root`` (the ``ego_cl`` package directory), runners excluded."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] == "runners":
            continue
        found.extend(_unique(violations(path.read_text(), str(path))))
    return found
