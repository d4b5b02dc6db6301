"""Project-wide gates: module size, public surfaces, layering, no network."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import beluga

SRC = Path(beluga.__file__).resolve().parent
MAX_LINES = 800


def _modules() -> list[str]:
    names = ["beluga"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="beluga."):
        names.append(info.name)
    return names


def test_no_source_file_over_800_lines() -> None:
    too_long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"split these modules (over {MAX_LINES} lines): {too_long}"


def _public_names(path: Path) -> set[str]:
    """Names a module defines or imports at top level without a leading underscore."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.ImportFrom)
            and path.name == "__init__.py"
            and (node.module or "").startswith("beluga")
        ):
            names.update(a.asname or a.name for a in node.names)
    return {n for n in names if not n.startswith("_") and n != "annotations"}


@pytest.mark.parametrize(
    "package",
    [p for p in _modules() if (SRC.parent / p.replace(".", "/") / "__init__.py").exists()],
)
def test_package_all_matches_public_names(package: str) -> None:
    module = importlib.import_module(package)
    path = Path(module.__file__ or "")
    declared = set(getattr(module, "__all__", ())) - {"__version__"}
    public = _public_names(path)
    assert declared == public, (
        f"{package}.__all__ differs from its public names: missing {sorted(public - declared)}, "
        f"extra {sorted(declared - public)}"
    )
    missing = [n for n in declared if not hasattr(module, n)]
    assert not missing, f"{package}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("module", [m for m in _modules() if not m.endswith("__main__")])
def test_module_all_is_exact(module: str) -> None:
    """Every module that declares ``__all__`` lists exactly its public names."""
    mod = importlib.import_module(module)
    if not hasattr(mod, "__all__") or Path(mod.__file__ or "").name == "__init__.py":
        return
    public = _public_names(Path(mod.__file__ or ""))
    declared = set(mod.__all__)
    private_ok = {n for n in public - declared if n[0].isupper() and n.isupper()}  # constants
    unknown = declared - public - {"__version__"}
    assert not unknown, f"{module}.__all__ names unknown {unknown}"
    undocumented = public - declared - private_ok
    type_vars = {n for n in undocumented if len(n) == 1}
    assert not (undocumented - type_vars), (
        f"{module} has public names missing from __all__: {sorted(undocumented - type_vars)}; "
        "add them to __all__ or rename them with a leading underscore"
    )


def test_layers_are_respected() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=SRC.parent.parent,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_non_loopback_network_is_blocked() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock, pytest.raises(RuntimeError, match="loopback"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed, never reached


def test_import_beluga_does_not_import_provider_sdks() -> None:
    code = (
        "import sys, beluga, beluga.llms, beluga.config, beluga.observability;"
        "print(','.join(m for m in ('openai','llama_cpp','typer','rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
