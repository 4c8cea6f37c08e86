"""Read catalogue YAML into :class:`System` objects.

The catalogue is the folder ``resources/systems`` of the repository (or the
folder named by ``CHAOSATLAS_SYSTEMS_DIR``). Reading the names is cheap; a
system's equations are parsed when it is asked for.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
import yaml

from .errors import CatalogueError
from .expressions import evaluate_constant, parse_expression, undefined_functions
from .system import KINDS, Delay, System

REQUIRED_KEYS = ("name", "kind", "variables", "equations", "initial_state", "citation")
OPTIONAL_KEYS = (
    "parameters",
    "description",
    "size",
    "period_hint",
    "dt_hint",
    "bound",
    "unbounded",
    "reference",
    "notes",
    "dysts",
)
FILE_KEYS = ("family", "description", "systems")
REFERENCE_KEYS = (
    "lyapunov_spectrum",
    "max_lyapunov",
    "kaplan_yorke_dimension",
    "correlation_dimension",
    "period",
    "behaviour",
)
#: values of ``reference.behaviour``: the verdicts a source can vouch for
BEHAVIOURS = ("chaotic", "transient_chaos", "periodic", "quasi_periodic", "fixed_point")
RESERVED_NAMES = frozenset({"t", "i", "j", "delay", "N"})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_INDEXED_VAR = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\[i\]$")
_MAX_SIZE = 100_000
_MAX_DIM = 100_000

TIME = sp.Symbol("t", real=True)
_INDEX_I = sp.Symbol("i", integer=True)
_INDEX_J = sp.Symbol("j", integer=True)
_DELAY = sp.Function("delay")


def default_systems_dir() -> Path:
    """The catalogue folder: ``$CHAOSATLAS_SYSTEMS_DIR`` or the repository's."""
    env = os.environ.get("CHAOSATLAS_SYSTEMS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "resources" / "systems"


# ----------------------------------------------------------------------------
# Files


def read_yaml(path: str | os.PathLike[str]) -> tuple[str, list[dict[str, Any]]]:
    """Read one catalogue file: its family and its raw entries, structure-checked."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read: {exc}", file=file) from None
    return parse_yaml_text(text, file=file, default_family=Path(path).stem)


def parse_yaml_text(
    text: str, *, file: str = "<string>", default_family: str = "user"
) -> tuple[str, list[dict[str, Any]]]:
    """Parse catalogue YAML text; see :func:`read_yaml`."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"malformed YAML: {exc}", file=file) from None
    except RecursionError:
        raise CatalogueError("malformed YAML: nested too deeply", file=file) from None
    if not isinstance(doc, dict):
        raise CatalogueError("expected a mapping with a 'systems' list at the top level", file=file)
    unknown = sorted(str(k) for k in doc if k not in FILE_KEYS)
    if unknown:
        raise CatalogueError(f"unknown top-level key(s): {', '.join(unknown)}", file=file)
    family = doc.get("family", default_family)
    if not isinstance(family, str):
        raise CatalogueError("'family' must be text", file=file, key="family")
    entries = doc.get("systems")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError("'systems' must be a non-empty list", file=file, key="systems")
    seen: dict[str, int] = {}
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise CatalogueError(
                f"entry {k} of 'systems' is not a mapping", file=file, key=f"systems[{k}]"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise CatalogueError(
                f"entry {k}: 'name' must match [A-Za-z][A-Za-z0-9_]*, got {name!r}",
                file=file,
                key="name",
            )
        if name in seen:
            raise CatalogueError(
                f"duplicate name (entries {seen[name]} and {k})", file=file, system=name, key="name"
            )
        seen[name] = k
    return family, entries


@functools.cache
def _index(directory: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    folder = Path(directory)
    if not folder.is_dir():
        raise CatalogueError(f"catalogue folder not found: {folder}")
    index: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.yaml")):
        family, entries = read_yaml(path)
        for entry in entries:
            name = entry["name"]
            if name in index:
                raise CatalogueError(
                    f"duplicate name, also defined in {index[name][0]}",
                    file=str(path),
                    system=name,
                    key="name",
                )
            index[name] = (str(path), family, entry)
    return index


def _catalogue_index(directory: str | os.PathLike[str] | None = None):
    return _index(str(directory or default_systems_dir()))


def names(kind: str | None = None, directory: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the systems in the catalogue, sorted.

    Parameters
    ----------
    kind : {"flow", "map", "dde"}, optional
        Only systems of this kind.
    directory : path, optional
        Another catalogue folder.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    index = _catalogue_index(directory)
    return sorted(n for n, (_, _, e) in index.items() if kind is None or e.get("kind") == kind)


def get(name: str, directory: str | os.PathLike[str] | None = None, **overrides: Any) -> System:
    """One system of the catalogue, parsed, with optional parameter or size overrides.

    Parameters
    ----------
    name : str
        The system's name (see :func:`names`).
    **overrides
        New values for parameters (numbers, or lists for vector parameters) or
        for the size of an indexed family (``N=40``).

    Examples
    --------
    >>> lorenz = get("Lorenz", rho=99.96)
    """
    index = _catalogue_index(directory)
    if name not in index:
        close = [n for n in index if n.lower() == name.lower()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"no system named {name!r} in the catalogue{hint}")
    file, family, entry = index[name]
    return build_system(entry, file=file, family=family, overrides=overrides)


def load_file(path: str | os.PathLike[str]) -> list[System]:
    """Load and fully check a catalogue file (e.g. a user's own systems).

    Every entry is parsed and checked; the first problem raises a
    :class:`CatalogueError` naming the file, the system and the key.
    """
    family, entries = read_yaml(path)
    return [build_system(e, file=str(path), family=family) for e in entries]


def load_text(text: str, *, file: str = "<string>") -> list[System]:
    """Like :func:`load_file`, for YAML text."""
    family, entries = parse_yaml_text(text, file=file)
    return [build_system(e, file=file, family=family) for e in entries]


def all_systems(directory: str | os.PathLike[str] | None = None) -> Iterable[System]:
    """Every system of the catalogue, parsed (slow: parses all equations)."""
    for name in names(directory=directory):
        yield get(name, directory=directory)


# ----------------------------------------------------------------------------
# Entries


class _Entry:
    """Context for one entry: its file and name, to build errors."""

    def __init__(self, entry: Mapping[str, Any], file: str) -> None:
        self.entry = entry
        self.file = file
        self.name = str(entry.get("name", "?"))

    def where(self, key: str | None) -> dict[str, str | None]:
        return {"file": self.file, "system": self.name, "key": key}

    def error(self, message: str, key: str | None) -> CatalogueError:
        return CatalogueError(message, **self.where(key))


def _check_name(ctx: _Entry, value: object, key: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ctx.error(f"{value!r} is not a valid name ([A-Za-z][A-Za-z0-9_]*)", key)
    if value in RESERVED_NAMES:
        raise ctx.error(f"{value!r} is reserved", key)
    return value


def _finite_float(ctx: _Entry, value: object, key: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ctx.error(f"expected a number, got {value!r}", key)
    number = evaluate_constant(value, ctx.where(key))
    if positive and not number > 0:
        raise ctx.error(f"expected a positive number, got {value!r}", key)
    return number


def _parameter_array(ctx: _Entry, value: object, key: str) -> np.ndarray:
    """A parameter value: a number, or a (nested) list of numbers."""
    if isinstance(value, list):
        if not value:
            raise ctx.error("empty list", key)
        rows = [_parameter_array(ctx, v, f"{key}[{k}]") for k, v in enumerate(value)]
        shapes = {r.shape for r in rows}
        if len(shapes) != 1:
            raise ctx.error("ragged list (rows of different lengths)", key)
        array = np.stack(rows)
        if array.ndim > 2:
            raise ctx.error("parameters may be scalars, vectors or matrices", key)
        return array
    if isinstance(value, np.ndarray):
        return _parameter_array(ctx, value.tolist(), key)
    return np.array(_finite_float(ctx, value, key))


def build_system(
    entry: Mapping[str, Any],
    *,
    file: str = "<string>",
    family: str = "user",
    overrides: Mapping[str, Any] | None = None,
) -> System:
    """Turn one raw YAML entry into a :class:`System`."""
    ctx = _Entry(entry, file)
    overrides = dict(overrides or {})

    missing = [k for k in REQUIRED_KEYS if k not in entry]
    if missing:
        raise ctx.error(f"missing required key(s): {', '.join(missing)}", missing[0])
    unknown = sorted(str(k) for k in entry if k not in REQUIRED_KEYS + OPTIONAL_KEYS)
    if unknown:
        raise ctx.error(f"unknown key(s): {', '.join(unknown)}", unknown[0])
    name = _check_name(ctx, entry["name"], "name")
    kind = entry["kind"]
    if kind not in KINDS:
        raise ctx.error(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", "kind")

    # --- sizes of indexed families
    size_raw = entry.get("size") or {}
    if not isinstance(size_raw, dict):
        raise ctx.error("'size' must map a size name to an integer", "size")
    if len(size_raw) > 1:
        raise ctx.error("an indexed family has exactly one size parameter", "size")
    size: dict[str, int] = {}
    for key, value in size_raw.items():
        if key != "N":
            raise ctx.error(f"the size parameter must be called N, got {key!r}", "size")
        value = overrides.pop(key, value)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | np.integer)
            or not (1 <= int(value) <= _MAX_SIZE)
        ):
            raise ctx.error(
                f"size {key} must be an integer in 1..{_MAX_SIZE}, got {value!r}", f"size.{key}"
            )
        size[key] = int(value)

    # --- parameters
    params_raw = entry.get("parameters") or {}
    if not isinstance(params_raw, dict):
        raise ctx.error("'parameters' must be a mapping name -> value", "parameters")
    parameters: dict[str, np.ndarray] = {}
    for key, value in params_raw.items():
        pname = _check_name(ctx, key, f"parameters.{key}")
        parameters[pname] = _parameter_array(ctx, value, f"parameters.{pname}")
    for key, value in overrides.items():
        if key not in parameters:
            known = ", ".join(list(parameters) + list(size)) or "none"
            raise ctx.error(
                f"no parameter {key!r} to override (parameters: {known})", f"parameters.{key}"
            )
        new = _parameter_array(ctx, value, f"parameters.{key}")
        if new.shape != parameters[key].shape:
            raise ctx.error(
                f"override has shape {new.shape}, parameter has shape {parameters[key].shape}",
                f"parameters.{key}",
            )
        parameters[key] = new

    # --- variables
    variables_raw = entry["variables"]
    if not isinstance(variables_raw, list) or not variables_raw:
        raise ctx.error("'variables' must be a non-empty list of names", "variables")
    if len(variables_raw) != len({str(v) for v in variables_raw}):
        raise ctx.error("a variable is listed twice", "variables")
    indexed = any(isinstance(v, str) and "[" in v for v in variables_raw)
    base_names: list[str] = []
    for v in variables_raw:
        if indexed:
            m = _INDEXED_VAR.match(v) if isinstance(v, str) else None
            if m is None:
                raise ctx.error(
                    f"indexed variables are written like 'x[i]', got {v!r}", "variables"
                )
            base_names.append(_check_name(ctx, m.group(1), "variables"))
        else:
            base_names.append(_check_name(ctx, v, "variables"))
    if indexed and not size:
        raise ctx.error("indexed variables need a 'size' (e.g. size: {N: 10})", "size")
    if not indexed and size:
        raise ctx.error("'size' is given but no variable is indexed like 'x[i]'", "size")
    clash = set(base_names) & set(parameters)
    if clash:
        raise ctx.error(f"{sorted(clash)[0]!r} is both a variable and a parameter", "variables")
    n_nodes = size.get("N", 1)
    if len(base_names) * n_nodes > _MAX_DIM:
        raise ctx.error(f"dimension above {_MAX_DIM}", "size")

    # --- symbols
    if indexed:
        state_names = [f"{b}_{n}" for n in range(n_nodes) for b in base_names]
    else:
        state_names = list(base_names)
    state_symbols = tuple(sp.Symbol(s, real=True) for s in state_names)
    if indexed:
        state_lookup = {
            (b, n): state_symbols[n * len(base_names) + k]
            for n in range(n_nodes)
            for k, b in enumerate(base_names)
        }
    else:
        state_lookup = {(b, 0): s for b, s in zip(base_names, state_symbols, strict=True)}

    parameter_names: list[str] = []
    parameter_values: list[float] = []
    param_scalar: dict[str, sp.Symbol] = {}
    param_element: dict[tuple[str, tuple[int, ...]], sp.Symbol] = {}
    for pname, array in parameters.items():
        if array.ndim == 0:
            sym = sp.Symbol(pname, real=True)
            param_scalar[pname] = sym
            parameter_names.append(pname)
            parameter_values.append(float(array))
        else:
            for idx in np.ndindex(array.shape):
                slot = pname + "".join(f"_{k}" for k in idx)
                sym = sp.Symbol(slot, real=True)
                param_element[(pname, idx)] = sym
                parameter_names.append(slot)
                parameter_values.append(float(array[idx]))
    parameter_symbols = tuple(sp.Symbol(n, real=True) for n in parameter_names)

    local: dict[str, object] = {}
    for pname, array in parameters.items():
        local[pname] = param_scalar[pname] if array.ndim == 0 else sp.IndexedBase(pname)
    for b in base_names:
        local[b] = sp.IndexedBase(b) if indexed else state_lookup[(b, 0)]
    if kind != "map":
        local["t"] = TIME
    if indexed:
        local.update({"i": _INDEX_I, "j": _INDEX_J, "N": sp.Integer(n_nodes)})
    extra = {"delay": _DELAY} if kind == "dde" else None

    vector_params = {p for p, a in parameters.items() if a.ndim > 0}

    def resolve_indexed(expr: sp.Expr, key: str) -> sp.Expr:
        def replace(obj: sp.Indexed) -> sp.Symbol:
            base = str(obj.base)
            idx = []
            for k in obj.indices:
                k = sp.simplify(k)
                if not k.is_Integer:
                    raise ctx.error(f"index {k} of {base} is not an integer here", key)
                idx.append(int(k))
            if base in vector_params:
                shape = parameters[base].shape
                if len(idx) != len(shape) or any(
                    not 0 <= k < s for k, s in zip(idx, shape, strict=True)
                ):
                    raise ctx.error(
                        f"index {tuple(idx)} out of range for parameter {base} of shape {shape}",
                        key,
                    )
                return param_element[(base, tuple(idx))]
            if indexed and base in base_names:
                if len(idx) != 1:
                    raise ctx.error(f"variable {base} takes one index", key)
                return state_lookup[(base, idx[0] % n_nodes)]
            raise ctx.error(
                f"{base}[...] is neither an indexed variable nor a vector parameter", key
            )

        if not expr.has(sp.Indexed):
            return expr
        return expr.replace(lambda e: isinstance(e, sp.Indexed), replace)

    # --- equations
    eqs_raw = entry["equations"]
    if not isinstance(eqs_raw, dict):
        raise ctx.error("'equations' must map each variable to an expression", "equations")
    keys = [str(v) for v in variables_raw]
    extra_keys = [str(k) for k in eqs_raw if str(k) not in keys]
    if extra_keys:
        raise ctx.error(
            f"equation for unknown variable {extra_keys[0]!r}", f"equations.{extra_keys[0]}"
        )
    missing_eq = [k for k in keys if k not in {str(e) for e in eqs_raw}]
    if missing_eq:
        raise ctx.error(f"no equation for variable {missing_eq[0]!r}", f"equations.{missing_eq[0]}")
    eq_by_key = {str(k): v for k, v in eqs_raw.items()}

    allowed_free = set(state_symbols) | set(parameter_symbols)
    if kind != "map":
        allowed_free.add(TIME)
    delay_calls: dict[sp.Expr, sp.Symbol] = {}
    delays: list[Delay] = []
    delay_symbols: list[sp.Symbol] = []

    def finish(expr: sp.Expr, key: str) -> sp.Expr:
        if expr.has(sp.Sum):
            try:
                expr = expr.doit()
            except Exception as exc:  # sympy's own errors on a malformed Sum
                raise ctx.error(f"cannot expand the sum: {exc}", key) from None
        expr = resolve_indexed(expr, key)
        if kind == "dde":
            for call in sorted(expr.atoms(_DELAY), key=sp.default_sort_key):
                if call in delay_calls:
                    continue
                if len(call.args) != 2:
                    raise ctx.error(f"delay() takes (variable, delay), got {call}", key)
                var, tau = call.args
                if var not in state_symbols:
                    raise ctx.error(f"first argument of {call} must be a state variable", key)
                if not tau.free_symbols <= set(parameter_symbols):
                    raise ctx.error(f"the delay in {call} must be a parameter expression", key)
                sym = sp.Symbol(f"_delayed_{len(delays)}", real=True)
                delay_calls[call] = sym
                delays.append(Delay(state_symbols.index(var), tau))
                delay_symbols.append(sym)
            expr = expr.xreplace(delay_calls)
        bad_functions = undefined_functions(expr)
        if bad_functions:
            raise ctx.error(f"unknown function(s): {', '.join(sorted(bad_functions))}", key)
        unknown_symbols = expr.free_symbols - allowed_free - set(delay_symbols)
        if unknown_symbols:
            names_ = ", ".join(sorted(str(s) for s in unknown_symbols))
            hint = (
                " (t is not available in maps)"
                if kind == "map" and "t" in names_.split(", ")
                else ""
            )
            raise ctx.error(f"unknown symbol(s): {names_}{hint}", key)
        if expr.has(sp.Sum, sp.Indexed, sp.KroneckerDelta):
            raise ctx.error("could not expand sums/indices", key)
        return expr

    equations: list[sp.Expr | None] = [None] * len(state_symbols)
    for k in range(len(base_names)):
        key_text = keys[k]
        where = ctx.where(f"equations.{key_text}")
        expr = parse_expression(
            eq_by_key[key_text], local, where, indexed=indexed, extra_functions=extra
        )
        for n in range(n_nodes):
            node_expr = expr.subs(_INDEX_I, n) if indexed else expr
            equations[n * len(base_names) + k] = finish(node_expr, f"equations.{key_text}")
    if kind == "dde" and not delays:
        raise ctx.error("a delay equation must use delay(x, tau) at least once", "equations")
    if kind != "dde" and any(e.has(_DELAY) for e in equations):  # pragma: no cover - caught above
        raise ctx.error("delay() is only allowed in kind dde", "equations")

    # --- parameter values for delays must be positive
    subs = dict(zip(parameter_symbols, parameter_values, strict=True))
    for d in delays:
        value = float(d.tau.subs(subs))
        if not (math.isfinite(value) and value > 0):
            raise ctx.error(f"delay {d.tau} evaluates to {value}, must be positive", "equations")

    # --- initial state
    init_raw = entry["initial_state"]
    if isinstance(init_raw, list):
        if len(init_raw) != len(state_symbols):
            raise ctx.error(
                f"has {len(init_raw)} values, the system has {len(state_symbols)} variables",
                "initial_state",
            )
        initial = np.array(
            [_finite_float(ctx, v, f"initial_state[{k}]") for k, v in enumerate(init_raw)]
        )
    elif isinstance(init_raw, dict) and indexed:
        if sorted(str(k) for k in init_raw) != sorted(keys):
            raise ctx.error(
                f"needs one template per indexed variable: {', '.join(keys)}", "initial_state"
            )
        initial = np.empty(len(state_symbols))
        scalar_values = {p: sp.Float(float(a)) for p, a in parameters.items() if a.ndim == 0}
        for k, key_text in enumerate(keys):
            where = ctx.where(f"initial_state.{key_text}")
            template = parse_expression(
                {str(a): b for a, b in init_raw.items()}[key_text],
                {**scalar_values, "i": _INDEX_I, "N": sp.Integer(n_nodes)},
                where,
                indexed=True,
            )
            for n in range(n_nodes):
                initial[n * len(base_names) + k] = evaluate_constant(
                    str(template.subs(_INDEX_I, n)), where
                )
    else:
        raise ctx.error(
            "must be a list of numbers (or, for indexed families, a mapping)", "initial_state"
        )

    # --- optional keys
    citation = entry["citation"]
    if not isinstance(citation, str) or not citation.strip():
        raise ctx.error("must be non-empty text", "citation")
    description = entry.get("description") or ""
    notes = entry.get("notes") or ""
    for key, value in (("description", description), ("notes", notes)):
        if not isinstance(value, str):
            raise ctx.error("must be text", key)
    period_hint = entry.get("period_hint")
    if period_hint is not None:
        period_hint = _finite_float(ctx, period_hint, "period_hint", positive=True)
    dt_hint = entry.get("dt_hint")
    if dt_hint is not None:
        dt_hint = _finite_float(ctx, dt_hint, "dt_hint", positive=True)
    bound = _finite_float(ctx, entry.get("bound", 1e8), "bound", positive=True)
    unbounded_raw = entry.get("unbounded") or []
    if not isinstance(unbounded_raw, list):
        raise ctx.error("must be a list of variable names", "unbounded")
    unbounded: list[str] = []
    for v in unbounded_raw:
        if indexed and isinstance(v, str) and _INDEXED_VAR.match(v):
            b = _INDEXED_VAR.match(v).group(1)
            unbounded += [f"{b}_{n}" for n in range(n_nodes)]
        elif v in state_names:
            unbounded.append(v)
        else:
            raise ctx.error(f"{v!r} is not a variable", "unbounded")
    reference = entry.get("reference") or {}
    if not isinstance(reference, dict):
        raise ctx.error("must map invariant names to {value, source}", "reference")
    for key, item in reference.items():
        if key not in REFERENCE_KEYS:
            raise ctx.error(
                f"unknown invariant {key!r} (known: {', '.join(REFERENCE_KEYS)})",
                f"reference.{key}",
            )
        if not isinstance(item, dict) or "value" not in item or "source" not in item:
            raise ctx.error("must be {value: ..., source: ...}", f"reference.{key}")
        if key == "behaviour":
            if item["value"] not in BEHAVIOURS:
                raise ctx.error(
                    f"must be one of {', '.join(BEHAVIOURS)}, got {item['value']!r}",
                    "reference.behaviour.value",
                )
            continue
        values = item["value"] if isinstance(item["value"], list) else [item["value"]]
        for v in values:
            _finite_float(ctx, v, f"reference.{key}.value")
    dysts = entry.get("dysts")
    if dysts is not None and not isinstance(dysts, str):
        raise ctx.error("must be a name", "dysts")

    return System(
        name=name,
        kind=kind,
        family=family,
        source=file,
        variables=tuple(state_names),
        parameter_names=tuple(parameter_names),
        parameter_vector=np.array(parameter_values, dtype=np.float64),
        parameters={p: (float(a) if a.ndim == 0 else a.tolist()) for p, a in parameters.items()},
        equations=tuple(equations),  # type: ignore[arg-type]
        equation_text={k: str(v) for k, v in eq_by_key.items()},
        state_symbols=state_symbols,
        parameter_symbols=parameter_symbols,
        time_symbol=TIME,
        delay_symbols=tuple(delay_symbols),
        delays=tuple(delays),
        initial_state=initial,
        citation=citation.strip(),
        description=description.strip(),
        size=size,
        period_hint=period_hint,
        dt_hint=dt_hint,
        bound=bound,
        unbounded=tuple(unbounded),
        reference=dict(reference),
        notes=notes.strip(),
        dysts=dysts,
    )
