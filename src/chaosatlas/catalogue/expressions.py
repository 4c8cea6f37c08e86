"""Safe parsing of equation text into sympy expressions.

Equation text comes from YAML files, possibly a user's own. It is tokenised and
checked against a small grammar before sympy sees it, parsed once unevaluated so
that absurd constants (``9**9**9**9``) are rejected before sympy tries to
compute them, then parsed for real. Every failure becomes a ``CatalogueError``.
"""

from __future__ import annotations

import io
import keyword
import math
import tokenize
from collections.abc import Mapping

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import auto_number, auto_symbol, parse_expr

from .errors import CatalogueError

#: Functions an equation may call, by the name used in the text.
ALLOWED_FUNCTIONS: dict[str, object] = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "atan2": sp.atan2,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asinh": sp.asinh,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "Abs": sp.Abs,
    "sign": sp.sign,
    "Heaviside": sp.Heaviside,
    "Min": sp.Min,
    "Max": sp.Max,
    "floor": sp.floor,
    "Mod": sp.Mod,
    "Piecewise": sp.Piecewise,
    "pi": sp.pi,
    "E": sp.E,
    "True": sp.true,
    "False": sp.false,
}
#: Only in indexed families (and initial-state templates).
INDEXED_FUNCTIONS: dict[str, object] = {"Sum": sp.Sum, "KroneckerDelta": sp.KroneckerDelta}

_ALLOWED_OPS = frozenset("+ - * / ** ( ) [ ] , < > <= >= == != % & | ~".split())
_MAX_TEXT = 20_000
_MAX_EXPONENT = 1000.0

# What parse_expr's generated code may reference: sympy's number and symbol
# constructors, and nothing from the builtins.
_BASE_GLOBALS: dict[str, object] = {
    "Symbol": sp.Symbol,
    "Integer": sp.Integer,
    "Float": sp.Float,
    "Rational": sp.Rational,
    "Function": sp.Function,
    # operators as parse_expr(evaluate=False) spells them
    "Add": sp.Add,
    "Mul": sp.Mul,
    "Pow": sp.Pow,
    "Lt": sp.Lt,
    "Le": sp.Le,
    "Gt": sp.Gt,
    "Ge": sp.Ge,
    "Eq": sp.Eq,
    "Ne": sp.Ne,
    "Not": sp.Not,
    "And": sp.And,
    "Or": sp.Or,
    "__builtins__": {},
}


def _fail(message: str, where: Mapping[str, str | None]) -> CatalogueError:
    return CatalogueError(message, **where)


def _check_tokens(text: str, where: Mapping[str, str | None]) -> None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise _fail(f"cannot read expression {text!r}: {exc}", where) from None
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER}
    for tok in tokens:
        if tok.type in skip:
            continue
        if tok.type == tokenize.NAME:
            if keyword.iskeyword(tok.string) and tok.string not in ("True", "False"):
                raise _fail(f"keyword {tok.string!r} is not allowed in {text!r}", where)
            if tok.string.startswith("_"):
                raise _fail(f"name {tok.string!r} may not start with '_' in {text!r}", where)
        elif tok.type == tokenize.NUMBER:
            if tok.string[-1] in "jJ":
                raise _fail(f"complex number {tok.string!r} in {text!r}", where)
        elif tok.type == tokenize.OP:
            if tok.string not in _ALLOWED_OPS:
                raise _fail(f"operator {tok.string!r} is not allowed in {text!r}", where)
        else:
            raise _fail(f"unexpected {tok.string!r} in {text!r}", where)


def _numeric_value(expr: sp.Basic) -> float | None:
    try:
        value = complex(sp.N(expr, 15))
    except (TypeError, ValueError, OverflowError, ZeroDivisionError, RecursionError):
        return None
    return abs(value)


def _check_magnitudes(expr: sp.Basic, text: str, where: Mapping[str, str | None]) -> None:
    """Reject numeric powers that would take sympy forever to evaluate."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and not node.exp.free_symbols:
            size = _numeric_value(node.exp)
            if size is None or not math.isfinite(size) or size > _MAX_EXPONENT:
                raise _fail(f"exponent out of range in {text!r}", where)


def _to_text(value: object, where: Mapping[str, str | None]) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(f"expected an expression (text or number), got {type(value).__name__}", where)
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(f"non-finite number {value!r}", where)
    text = str(value).strip()
    if not text:
        raise _fail("empty expression", where)
    if len(text) > _MAX_TEXT:
        raise _fail(f"expression longer than {_MAX_TEXT} characters", where)
    return text


def parse_expression(
    value: object,
    local_dict: Mapping[str, object],
    where: Mapping[str, str | None],
    *,
    indexed: bool = False,
    extra_functions: Mapping[str, object] | None = None,
) -> sp.Expr:
    """Parse one expression from a catalogue entry.

    Parameters
    ----------
    value : str or number
        The expression text.
    local_dict : mapping
        Names the expression may use (variables, parameters, ``t``, ...).
    where : mapping
        ``file``, ``system`` and ``key`` for error messages.
    indexed : bool
        Allow ``Sum`` and ``KroneckerDelta`` (indexed families).
    extra_functions : mapping, optional
        Further callables, e.g. ``delay`` for delay equations.

    Returns
    -------
    sympy.Expr
        The parsed expression. Its free symbols are *not* checked here.

    Raises
    ------
    CatalogueError
        For anything that is not a well-formed, finite, real expression.
    """
    text = _to_text(value, where)
    _check_tokens(text, where)
    namespace = dict(_BASE_GLOBALS)
    namespace.update(ALLOWED_FUNCTIONS)
    if indexed:
        namespace.update(INDEXED_FUNCTIONS)
    if extra_functions:
        namespace.update(extra_functions)
    transformations = (auto_symbol, auto_number)
    try:
        raw = parse_expr(
            text,
            local_dict=dict(local_dict),
            global_dict=namespace,
            transformations=transformations,
            evaluate=False,
        )
        if isinstance(raw, sp.Basic):
            _check_magnitudes(raw, text, where)
        expr = parse_expr(
            text,
            local_dict=dict(local_dict),
            global_dict=namespace,
            transformations=transformations,
            evaluate=True,
        )
    except CatalogueError:
        raise
    except RecursionError:
        raise _fail(f"expression nested too deeply: {text[:80]!r}", where) from None
    except Exception as exc:  # sympy raises many types on bad input
        raise _fail(f"cannot parse {text!r}: {type(exc).__name__}: {exc}", where) from None
    if isinstance(expr, int | float) and not isinstance(expr, bool):
        expr = sp.sympify(expr)
    if not isinstance(expr, sp.Expr):
        raise _fail(f"{text!r} is not an arithmetic expression", where)
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise _fail(f"{text!r} is infinite or undefined (division by zero?)", where)
    if expr.has(sp.I):
        raise _fail(f"{text!r} is complex", where)
    for number in expr.atoms(sp.Number):
        try:
            ok = math.isfinite(float(number))
        except (OverflowError, TypeError, ValueError):
            ok = False
        if not ok:
            raise _fail(f"number out of range in {text!r}", where)
    return expr


def undefined_functions(expr: sp.Basic) -> set[str]:
    """Names of functions in ``expr`` that sympy does not know."""
    return {type(f).__name__ for f in expr.atoms(AppliedUndef)}


def evaluate_constant(
    value: object, where: Mapping[str, str | None], names: Mapping[str, object] | None = None
) -> float:
    """Evaluate a numeric constant (``8/3``, ``2*pi``, ``F + 0.01``) to a float."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise _fail(f"non-finite number {value!r}", where)
        return number
    local = dict(names or {})
    expr = parse_expression(value, local, where, indexed=True)
    if expr.free_symbols:
        unknown = ", ".join(sorted(str(s) for s in expr.free_symbols))
        raise _fail(f"unknown symbol(s) {unknown} in {value!r}", where)
    try:
        number = float(sp.N(expr.doit(), 17))
    except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
        raise _fail(f"{value!r} is not a real number: {exc}", where) from None
    if not math.isfinite(number):
        raise _fail(f"{value!r} is not a finite number", where)
    return number
