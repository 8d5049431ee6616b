"""`mercato bench NAME`: run a benchmark from the repository's ``benchmarks/`` folder.

Each benchmark is ``benchmarks/NAME.py`` with a ``main(argv: list[str]) -> int`` function. With
``--json`` a benchmark prints exactly one JSON object on stdout (progress goes to stderr).
Benchmarks print figures; tests never assert timings.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path


def benchmarks_dir() -> Path:
    env = os.environ.get("MERCATO_BENCHMARKS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "benchmarks").is_dir() and (parent / "pyproject.toml").is_file():
            return parent / "benchmarks"
    return Path.cwd() / "benchmarks"


def available() -> list[str]:
    folder = benchmarks_dir()
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def run_benchmark(name: str, argv: list[str]) -> int:
    path = benchmarks_dir() / f"{name}.py"
    if not path.is_file():
        names = ", ".join(available()) or "none found"
        print(f"mercato bench: no benchmark {name!r} in {path.parent} (available: {names})", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location(f"mercato_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return int(module.main(argv) or 0)
