"""The system catalogue: YAML entries, parsed by sympy, compiled by numba.

>>> from chaosatlas import catalogue
>>> lorenz = catalogue.get("Lorenz")
>>> lorenz.rhs([1.0, 1.0, 1.0])
"""

from __future__ import annotations

from .compile import CompiledSystem, CompileError, cache_dir, compile_system
from .errors import CatalogueError
from .loader import (
    all_systems,
    build_system,
    default_systems_dir,
    get,
    load_file,
    load_text,
    names,
)
from .system import KINDS, System

__all__ = [
    "KINDS",
    "CatalogueError",
    "CompileError",
    "CompiledSystem",
    "System",
    "all_systems",
    "build_system",
    "cache_dir",
    "compile_system",
    "default_systems_dir",
    "get",
    "load_file",
    "load_text",
    "names",
]
