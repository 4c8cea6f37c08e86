"""Config fuzz: whatever the YAML, the only error is the typed ConfigError, and fast.

Four sources, 2,100 examples in all: configs the schema accepts
(hypothesis-jsonschema, so the catalogue-level checks behind the schema are
reached), the tiny config with one key changed or deleted, random YAML trees,
and random text. ``derandomize`` keeps the examples the same from run to run.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from chaosatlas.config import ConfigError, check_config, config_schema, load_config_text

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "tests" / "config" / "tiny.yaml").read_text())

# per example: a check that takes seconds is a hang in the making
FUZZ = settings(
    deadline=5000, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)  # fmt: skip

SCALARS = (
    st.none() | st.booleans() | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from(["all", "auto", "Lorenz", "Henon", "60MB", "2GB", "flow", "linear", ""])
)  # fmt: skip
KEYS = st.text(max_size=10) | st.sampled_from(sorted(TINY) + ["integraton", "kinds", "overrides"])
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


def _outcome(text_or_config, source="fuzz.yaml"):
    """The config back, or the ConfigError; any other exception fails the test."""
    try:
        if isinstance(text_or_config, str):
            return load_config_text(text_or_config, source=source)
        return check_config(text_or_config, source=source)
    except ConfigError as error:
        assert str(error).startswith(source), error  # names where the config came from
        return error


@settings(FUZZ, max_examples=300)
@given(from_schema(config_schema()))
def test_schema_valid_configs_pass_or_raise_config_error(config):
    result = _outcome(config)
    if isinstance(result, ConfigError):
        # the schema held, so the problem is one the catalogue or the models see
        assert result.key and result.key.split(".")[0] in {"systems", "kinds", "overrides",
                                                          "forecast", "causal", "dask"}  # fmt: skip


@st.composite
def mutated_tiny(draw):
    """The tiny config with one key (at any depth) replaced, deleted or added."""
    config = copy.deepcopy(TINY)
    node, path = config, []
    while isinstance(node, dict) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node, key=str)))
        if not isinstance(node[key], (dict, list)) or not node[key]:
            break
        if isinstance(node[key], list):
            break
        path.append(key)
        node = node[key]
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "add" or not node:
        node[draw(KEYS)] = draw(VALUES)
    else:
        key = draw(st.sampled_from(sorted(node, key=str)))
        if action == "delete":
            del node[key]
        else:
            node[key] = draw(VALUES)
    return config


@settings(FUZZ, max_examples=1000)
@given(mutated_tiny())
def test_one_changed_key_raises_only_config_error(config):
    result = _outcome(yaml.safe_dump(config))
    if isinstance(result, ConfigError):
        assert result.key is None or result.key  # a key named, or a whole-file problem


@settings(FUZZ, max_examples=500)
@given(VALUES)
def test_random_yaml_trees_raise_only_config_error(value):
    _outcome(yaml.safe_dump(value))


@settings(FUZZ, max_examples=300)
@given(st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_random_text_raises_only_config_error(text):
    _outcome(text)


def test_known_bad_configs_name_the_key():
    good = copy.deepcopy(TINY)
    assert check_config(good) == good
    cases = {
        "integration.n_points": ("integration", "n_points", "many"),
        "integraton": ("integraton", None, 3),
        "systems": ("systems", None, ["Lorenz", "NoSuchSystem"]),
        "dask.memory_limit": ("dask", "memory_limit", "60MB"),
        "forecast.hyper.esn.sizes": ("forecast", "hyper", {"esn": {"sizes": 3}}),
    }
    for key, (top, sub, value) in cases.items():
        config = copy.deepcopy(TINY)
        if sub is None:
            config[top] = value
        else:
            config[top][sub] = value
        with pytest.raises(ConfigError) as caught:
            check_config(config, source="bad.yaml")
        assert caught.value.key == key, caught.value
        assert str(caught.value).startswith("bad.yaml: config key")
    # forecast systems must be integrated
    config = copy.deepcopy(TINY)
    config["forecast"]["systems"] = ["Rossler"]
    with pytest.raises(ConfigError, match="forecast.systems.: Rossler not in .systems."):
        check_config(config)
    # YAML that does not parse names the line
    with pytest.raises(ConfigError, match="line 2"):
        load_config_text("seed: 1\nsystems:\t[Lorenz]\n", source="broken.yaml")
