"""Property tests: the loader raises CatalogueError and nothing else, and never hangs."""

from __future__ import annotations

import textwrap

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosatlas import catalogue
from chaosatlas.catalogue import CatalogueError

ATOMS = ["x", "y", "a", "t", "q", "1", "0", "2.5", "-3", "pi", "E", "1e308", "0.0"]
FUNCS = [
    "sin",
    "exp",
    "log",
    "sqrt",
    "Abs",
    "sign",
    "Heaviside",
    "floor",
    "Mod",
    "Max",
    "nope",
    "Sum",
    "delay",
]
OPS = ["+", "-", "*", "/", "**", "%", "<", "==", ","]

expressions = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPS), inner).map(" ".join),
        st.tuples(st.sampled_from(FUNCS), inner).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(st.sampled_from(FUNCS), inner, inner).map(lambda p: f"{p[0]}({p[1]}, {p[2]})"),
        inner.map(lambda s: f"({s})"),
    ),
    max_leaves=12,
)
junk_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def _doc(expr_x: object, expr_y: object) -> str:
    return textwrap.dedent(
        f"""
        systems:
          - name: Fuzz
            kind: flow
            variables: [x, y]
            parameters: {{a: 1.0}}
            equations:
              x: {yaml.safe_dump(expr_x, default_flow_style=True).strip().removesuffix("...").strip()}
              y: {yaml.safe_dump(expr_y, default_flow_style=True).strip().removesuffix("...").strip()}
            initial_state: [0.1, 0.2]
            citation: fuzz
        """
    )


@settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.one_of(expressions, junk_text))
def test_random_expressions_raise_only_catalogue_error(ex, ey):
    try:
        systems = catalogue.load_text(_doc(ex, ey), file="fuzz.yaml")
    except CatalogueError as err:
        assert err.file == "fuzz.yaml"
        return
    assert systems[0].dim == 2


yaml_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), junk_text, st.sampled_from(ATOMS)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "kind",
                    "variables",
                    "parameters",
                    "equations",
                    "initial_state",
                    "citation",
                    "size",
                    "systems",
                    "x",
                    "a",
                ]
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_values)
def test_random_yaml_documents_raise_only_catalogue_error(doc):
    text = yaml.safe_dump(doc)
    try:
        catalogue.load_text(text, file="random.yaml")
    except CatalogueError:
        pass


@settings(max_examples=200, deadline=5000)
@given(
    st.fixed_dictionaries(
        {
            "name": st.one_of(st.just("Sys"), junk_text),
            "kind": st.sampled_from(["flow", "map", "dde", "ode", 3]),
            "variables": st.one_of(
                st.just(["x", "y"]),
                st.lists(st.sampled_from(["x", "y", "t", "x[i]", "1x", "a"]), max_size=3),
            ),
            "parameters": st.one_of(
                st.just({"a": 1.0}),
                st.dictionaries(
                    st.sampled_from(["a", "b", "lambda", "t"]),
                    st.one_of(st.floats(), junk_text, st.lists(st.floats(), max_size=3)),
                    max_size=2,
                ),
            ),
            "equations": st.dictionaries(
                st.sampled_from(["x", "y", "z", "x[i]"]), expressions, max_size=3
            ),
            "initial_state": st.one_of(st.lists(st.floats(), max_size=3), junk_text),
            "citation": st.one_of(st.just("c"), st.integers()),
        }
    )
)
def test_random_entries_raise_only_catalogue_error(entry):
    text = yaml.safe_dump({"systems": [entry]})
    try:
        catalogue.load_text(text, file="entry.yaml")
    except CatalogueError:
        pass
