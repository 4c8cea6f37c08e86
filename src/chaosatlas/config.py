"""Read and check a workflow config: one typed error, naming the file and the key.

The Snakefile calls :func:`check_config` before any rule is defined, so a
config that cannot run stops at parse time with a :class:`ConfigError` (and
nothing else: no ``KeyError`` or ``TypeError`` from deep inside a rule). Two
layers are checked:

1. the JSON schema ``workflow/schemas/config.schema.yaml`` (types, ranges,
   unknown keys), and
2. what the schema cannot say: system names that are not in the catalogue,
   forecast systems that are not integrated, model keywords a model does not
   take, a worker memory limit below what a cold compile needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

#: The schema the workflow validates against (the repository's copy).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that cannot run.

    Attributes
    ----------
    key : str or None
        The dotted config key at fault (``"integration.n_points"``).
    source : str
        Where the config came from (a file name, or ``"config"``).
    """

    def __init__(self, message: str, key: str | None = None, source: str = "config") -> None:
        self.key, self.source = key, source
        where = f"config key '{key}'" if key is not None else "config"
        super().__init__(f"{source}: {where}: {message}")


@cache
def config_schema() -> dict[str, Any]:
    """The workflow's config schema, parsed."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML config file and check it; see :func:`check_config`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read it ({exc.strerror or exc})", source=str(path)) from None
    return load_config_text(text, source=str(path))


def load_config_text(text: str, source: str = "config") -> dict[str, Any]:
    """Parse YAML text as a config and check it; see :func:`check_config`."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"not valid YAML{where}: {problem}", source=source) from None
    except ValueError as exc:  # e.g. yaml's own int/float constructors on odd literals
        raise ConfigError(f"not valid YAML: {exc}", source=source) from None
    return check_config(config, source=source)


def check_config(config: Any, source: str = "config") -> dict[str, Any]:
    """Check a config against the schema and the catalogue; return it unchanged.

    Parameters
    ----------
    config : mapping
        The parsed config (Snakemake's ``config``).
    source : str
        Where it came from, for the message.

    Raises
    ------
    ConfigError
        The first problem found, naming the key.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"must be a mapping of keys to values, not {type(config).__name__}", source=source
        )
    _check_schema(config, source)
    try:
        _check_meaning(config, source)
    except ConfigError:
        raise
    except (ValueError, TypeError, LookupError) as exc:
        # a check below that raised its own error: still the config's fault
        raise ConfigError(str(exc), source=source) from None
    return dict(config)


def _part(key: Any) -> str:
    """One key of a dotted path: as written when plain, quoted when not (``''``, ``'a b'``)."""
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_]+", text) else repr(key)


def _dotted(path: Any) -> str:
    return ".".join(_part(p) for p in path)


def _check_schema(config: Mapping[str, Any], source: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(config_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        # name the unknown key itself, not its parent
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        key = _dotted([*path, extra[0]]) if extra else _dotted(path)
        known = ", ".join(sorted(allowed)) or "none"
        raise ConfigError(f"unknown key (known here: {known})", key=key, source=source)
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        key = _dotted([*path, missing[0]]) if missing else _dotted(path)
        raise ConfigError("required but missing", key=key, source=source)
    message = error.message
    if len(message) > 300:
        message = message[:300] + " ..."
    raise ConfigError(message, key=_dotted(path) or None, source=source)


def _known_system(name: Any, key: str, source: str) -> None:
    from . import catalogue

    if name not in catalogue.names():
        raise ConfigError(
            f"unknown system {name!r} (`chaosatlas list` shows the catalogue)", key, source
        )


def _check_meaning(config: Mapping[str, Any], source: str) -> None:
    from . import catalogue
    from .forecast import ForecastSettings
    from .pipeline import selected_systems

    choice = config.get("systems", "all")
    if choice != "all":
        for name in choice:
            _known_system(name, "systems", source)
    if not selected_systems(config):
        raise ConfigError(
            f"no system of kind(s) {', '.join(config.get('kinds') or [])} among 'systems'",
            "kinds",
            source,
        )
    for name, values in (config.get("overrides") or {}).items():
        _known_system(name, f"overrides.{_part(name)}", source)
        try:
            catalogue.get(name, **values)
        except Exception as exc:  # noqa: BLE001 - the catalogue's reason, with the key
            raise ConfigError(str(exc), f"overrides.{_part(name)}", source) from None
    forecast = config.get("forecast") or {}
    try:
        settings = ForecastSettings.from_config(config)
    except ValueError as exc:
        raise ConfigError(str(exc).removeprefix("config key 'forecast.systems': "),
                          "forecast.systems", source) from None  # fmt: skip
    selected = set(selected_systems(config))
    for name in settings.systems:
        _known_system(name, "forecast.systems", source)
        if name not in selected:
            raise ConfigError(
                f"{name} is not among the integrated systems ('systems', 'kinds'): "
                "only those have trajectories to train on",
                "forecast.systems",
                source,
            )
    for model, hyper in (forecast.get("hyper") or {}).items():
        _check_hyper(model, hyper, settings.models, source)
    for model, candidates in (forecast.get("search") or {}).items():
        for i, candidate in enumerate(candidates):
            hyper = {k: v for k, v in candidate.items() if k != "context"}
            _check_hyper(
                model, hyper, settings.models, source, f"forecast.search.{_part(model)}.{i}"
            )
    _check_causal(config.get("causal") or {}, source)
    _check_memory(config.get("dask") or {}, source)


def _check_hyper(
    model: str, hyper: Mapping[str, Any], models: Any, source: str, key: str = ""
) -> None:
    from .models import BASELINES, MODEL_NAMES, NEURAL, neural_hyperparameters

    key = key or f"forecast.hyper.{_part(model)}"
    if model not in MODEL_NAMES:
        raise ConfigError(f"unknown model (known: {', '.join(MODEL_NAMES)})", key, source)
    if model in NEURAL:
        accepted = list(neural_hyperparameters(model))
    else:
        accepted = list(BASELINES[model].HYPER)
    for name in hyper:
        if name not in accepted:
            raise ConfigError(
                f"{model} takes no keyword {name!r} (it takes: {', '.join(accepted) or 'none'})",
                f"{key}.{_part(name)}",
                source,
            )


def _check_causal(block: Mapping[str, Any], source: str) -> None:
    tiers = block.get("tiers") or {}
    pairs = tiers.get("pairs") or {}
    for i, pair in enumerate(pairs.get("pairs") or []):
        for name in pair:
            _known_system(name, f"causal.tiers.pairs.pairs.{i}", source)
    if "motif_system" in pairs:
        _known_system(pairs["motif_system"], "causal.tiers.pairs.motif_system", source)
    for name in (tiers.get("dags") or {}).get("systems") or []:
        _known_system(name, "causal.tiers.dags.systems", source)
    if not block.get("options"):
        return  # the methods module is heavy: imported only when there is something to check
    from .causal.methods import METHODS

    for method in block.get("options") or {}:
        if method not in METHODS:
            raise ConfigError(
                f"unknown method (known: {', '.join(sorted(METHODS))})",
                f"causal.options.{_part(method)}",
                source,
            )


def _check_memory(dask: Mapping[str, Any], source: str) -> None:
    limit = dask.get("memory_limit")
    if dask.get("cluster", "local") != "local" or limit in (None, "auto"):
        return  # "auto" depends on the machine the rule runs on: checked there
    from .cluster import ClusterError, worker_memory_limit

    try:
        worker_memory_limit(dask, threads=1)
    except ClusterError as exc:
        raise ConfigError(str(exc), "dask.memory_limit", source) from None
