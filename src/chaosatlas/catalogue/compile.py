"""Generate, cache and load the compiled code of a system.

For each system (structure, not parameter values) one Python module is written
to the cache folder: the right-hand side and Jacobian printed from sympy,
followed by the integrator kernels of
:mod:`chaosatlas.integrate.kernels_template`. Every function is a numba
``njit(cache=True)`` function calling module globals, so a second process loads
the machine code from numba's cache instead of compiling again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from .. import __version__
from .system import System

_MARKER = "# ---- BEGIN KERNELS ----"
_LOCK = threading.Lock()
_LOADED: dict[str, CompiledSystem] = {}


class CompileError(RuntimeError):
    """The equations of a system could not be turned into compiled code."""


def cache_dir() -> Path:
    """Where generated modules and numba's cache live.

    ``$CHAOSATLAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/chaosatlas``, else
    ``~/.cache/chaosatlas``.
    """
    env = os.environ.get("CHAOSATLAS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chaosatlas"


# ---------------------------------------------------------------------------
# sympy -> numba source


class _Floor(sp.Function):
    """floor with derivative 0 (almost everywhere), so Jacobians exist."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class _Mod(sp.Function):
    """a mod b = a - b*floor(a/b), with d/da = 1 almost everywhere."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sp.S.One if argindex == 1 else -_Floor(a / b)


class _NumbaPrinter(PythonCodePrinter):
    """Scalar Python that numba compiles; full float precision."""

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Heaviside(self, expr):
        return f"_heaviside({self._print(expr.args[0])})"

    def _print_sign(self, expr):
        return f"_sign({self._print(expr.args[0])})"

    def _print_DiracDelta(self, expr):
        return "0.0"

    def _print__Floor(self, expr):
        return f"np.floor({self._print(expr.args[0])})"

    def _print__Mod(self, expr):
        return f"_mod({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Mod(self, expr):
        return f"_mod({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_floor(self, expr):
        return f"np.floor({self._print(expr.args[0])})"

    def _print_Derivative(self, expr):
        raise CompileError(f"cannot compile the derivative {expr}")

    def _print_Subs(self, expr):
        raise CompileError(f"cannot compile {expr}")


def _prepare(expr: sp.Expr) -> sp.Expr:
    return expr.replace(sp.floor, _Floor).replace(sp.Mod, _Mod)


def _rename(system: System) -> dict[sp.Symbol, sp.Symbol]:
    mapping: dict[sp.Symbol, sp.Symbol] = {}
    for k, s in enumerate(system.state_symbols):
        mapping[s] = sp.Symbol(f"s{k}", real=True)
    for k, s in enumerate(system.parameter_symbols):
        mapping[s] = sp.Symbol(f"q{k}", real=True)
    for k, s in enumerate(system.delay_symbols):
        mapping[s] = sp.Symbol(f"d{k}", real=True)
    mapping[system.time_symbol] = sp.Symbol("t", real=True)
    return mapping


def _body(exprs: list[sp.Expr], targets: list[str], printer: _NumbaPrinter) -> list[str]:
    """Lines assigning ``exprs`` to ``targets``, with common subexpressions shared."""
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("c"), optimizations=None)
    lines = [f"    {printer.doprint(sym)} = {printer.doprint(val)}" for sym, val in replacements]
    for target, value in zip(targets, reduced, strict=True):
        lines.append(f"    {target} = {printer.doprint(value)}")
    return lines


def _loads(system: System, mapping: dict[sp.Symbol, sp.Symbol], used: set[sp.Symbol]) -> list[str]:
    lines = []
    for k, s in enumerate(system.state_symbols):
        if mapping[s] in used:
            lines.append(f"    s{k} = x[{k}]")
    for k, s in enumerate(system.parameter_symbols):
        if mapping[s] in used:
            lines.append(f"    q{k} = p[{k}]")
    for k, s in enumerate(system.delay_symbols):
        if mapping[s] in used:
            lines.append(f"    d{k} = xd[{k}]")
    return lines


def generate_source(system: System) -> str:
    """The full text of the generated module for ``system``."""
    printer = _NumbaPrinter({"fully_qualified_modules": True, "standard": "python3"})
    mapping = _rename(system)
    dim = system.dim
    rhs_exprs = [_prepare(e).xreplace(mapping) for e in system.equations]
    all_vars = list(system.state_symbols)
    jac_matrix = sp.Matrix([_prepare(e) for e in system.equations]).jacobian(all_vars)
    jac_pairs = [
        ((r, c), jac_matrix[r, c].xreplace(mapping))
        for r in range(dim)
        for c in range(dim)
        if jac_matrix[r, c] != 0
    ]
    if system.delay_symbols:
        jd = sp.Matrix([_prepare(e) for e in system.equations]).jacobian(list(system.delay_symbols))
        jd_pairs = [
            ((r, c), jd[r, c].xreplace(mapping))
            for r in range(dim)
            for c in range(len(system.delay_symbols))
            if jd[r, c] != 0
        ]
    else:
        jd_pairs = []

    def used_symbols(exprs):
        out: set[sp.Symbol] = set()
        for e in exprs:
            out |= e.free_symbols
        return out

    header = [
        f"# Generated by chaosatlas {__version__} for system {system.name!r}",
        f"# (structure {system.structure_key()}); do not edit, it is regenerated on demand.",
        "import math",
        "",
        "import numpy as np",
        "from numba import njit",
        "",
        "from chaosatlas.integrate.tableau import DOP_A, DOP_B, DOP_C, DOP_D, DOP_E3, DOP_E5",
        "",
        f"DIM = {dim}",
        f"NDELAY = {len(system.delay_symbols)}",
        f"NPAR = {system.n_parameters}",
        "",
        "",
        '@njit(cache=True, nogil=True, error_model="numpy")',
        "def _heaviside(v):",
        "    return 0.0 if v < 0 else (1.0 if v > 0 else 0.5)",
        "",
        "",
        '@njit(cache=True, nogil=True, error_model="numpy")',
        "def _sign(v):",
        "    return 0.0 if v == 0 else math.copysign(1.0, v)",
        "",
        "",
        '@njit(cache=True, nogil=True, error_model="numpy")',
        "def _mod(a, b):",
        "    return a - b * np.floor(a / b)",
        "",
        "",
        '@njit(cache=True, nogil=True, error_model="numpy")',
        "def rhs(t, x, xd, p, out):",
    ]
    body = _body(rhs_exprs, [f"out[{k}]" for k in range(dim)], printer)
    header += _loads(system, mapping, used_symbols(rhs_exprs)) + body + ["", ""]
    taus = [d.tau.xreplace(mapping) for d in system.delays]
    functions = [
        ("jac(t, x, xd, p, out)", jac_pairs),
        ("jac_delay(t, x, xd, p, out)", jd_pairs),
        ("delay_times(p, out)", [((k,), e) for k, e in enumerate(taus)]),
    ]
    for signature, pairs in functions:
        header += ['@njit(cache=True, nogil=True, error_model="numpy")', f"def {signature}:"]
        if pairs:
            exprs = [e for _, e in pairs]
            targets = [f"out[{', '.join(map(str, idx))}]" for idx, _ in pairs]
            header += _loads(system, mapping, used_symbols(exprs)) + _body(exprs, targets, printer)
        else:
            header += ["    pass"]
        header += ["", ""]
    return "\n".join(header) + "\n" + _kernel_text()


def _kernel_text() -> str:
    from ..integrate import kernels_common, kernels_template

    text = Path(kernels_template.__file__).read_text(encoding="utf-8")
    if _MARKER not in text:  # pragma: no cover - guards a broken install
        raise CompileError("kernel template marker missing")
    # numba's cache of a generated kernel does not notice a change in the shared
    # kernels it inlines: their hash in the source gives such a change a new module
    shared = hashlib.sha256(Path(kernels_common.__file__).read_bytes()).hexdigest()[:16]
    return f"# kernels_common {shared}\n" + text.split(_MARKER, 1)[1]


# ---------------------------------------------------------------------------
# loading


@dataclass(frozen=True)
class CompiledSystem:
    """The loaded generated module of a system, with convenience wrappers."""

    system: System
    module: ModuleType
    path: Path

    def _args(self, x, parameters, delayed):
        x = np.ascontiguousarray(x, dtype=np.float64)
        p = self.system.parameter_vector if parameters is None else parameters
        p = np.ascontiguousarray(p, dtype=np.float64)
        nd = len(self.system.delays)
        xd = np.zeros(nd) if delayed is None else np.ascontiguousarray(delayed, dtype=np.float64)
        if x.shape != (self.system.dim,):
            raise ValueError(f"{self.system.name}: state must have shape ({self.system.dim},)")
        return x, p, xd

    def rhs(self, x, t=0.0, parameters=None, delayed=None) -> np.ndarray:
        x, p, xd = self._args(x, parameters, delayed)
        out = np.empty(self.system.dim)
        self.module.rhs(float(t), x, xd, p, out)
        return out

    def jacobian(self, x, t=0.0, parameters=None, delayed=None) -> np.ndarray:
        x, p, xd = self._args(x, parameters, delayed)
        out = np.zeros((self.system.dim, self.system.dim))
        self.module.jac(float(t), x, xd, p, out)
        return out

    def jacobian_delay(self, x, t=0.0, parameters=None, delayed=None) -> np.ndarray:
        x, p, xd = self._args(x, parameters, delayed)
        out = np.zeros((self.system.dim, len(self.system.delays)))
        self.module.jac_delay(float(t), x, xd, p, out)
        return out


def _source_hash(source: str) -> str:
    salt = f"{numba.__version__}|{np.__version__}|{sys.version_info[:2]}"
    return hashlib.sha256((salt + source).encode()).hexdigest()[:20]


def _write_once(path: Path, source: str) -> None:
    """Write atomically, and never rewrite: numba's cache keys on the file's mtime."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(source)
        if not path.exists():
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def compile_system(system: System) -> CompiledSystem:
    """Generate (once), import and return the compiled code of ``system``.

    Raises
    ------
    CompileError
        When the equations cannot be printed or the module does not import.
    """
    key = system.structure_key()
    with _LOCK:
        cached = _LOADED.get(key)
        if cached is not None:
            if cached.system is system:
                return cached
            return CompiledSystem(system, cached.module, cached.path)
        try:
            source = generate_source(system)
        except CompileError:
            raise
        except Exception as exc:
            raise CompileError(f"{system.name}: cannot generate code: {exc}") from exc
        digest = _source_hash(source)
        modname = f"chaosatlas_gen_{system.name}_{digest}"
        path = cache_dir() / "systems" / f"{modname}.py"
        _write_once(path, source)
        try:
            spec = importlib.util.spec_from_file_location(modname, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(modname, None)
            raise CompileError(f"{system.name}: generated module does not load: {exc}") from exc
        compiled = CompiledSystem(system, module, path)
        _LOADED[key] = compiled
        return compiled
