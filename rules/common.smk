# Shared definitions for every rule file.
from pathlib import Path

from chaosatlas.forecast import ForecastSettings
from chaosatlas.models import NEURAL

SPLITS = ["train", "val", "test"]
CATALOGUE_FILES = sorted(
    str(p) for p in Path(workflow.basedir, "resources", "systems").glob("*.yaml")
)


def rule_threads(name, default=2):
    """Threads for a rule from the config's `threads` section (capped by --cores)."""
    return int(config.get("threads", {}).get(name, default))


FORECAST = ForecastSettings.from_config(config)


def checkpoints(wildcards=None):
    """Every (model, system) checkpoint the forecast rule scores."""
    return expand(
        "results/models/{model}/{system}/model.pt",
        model=FORECAST.models,
        system=FORECAST.systems,
    )


from chaosatlas.causal.pipeline import causal_settings

CAUSAL = causal_settings(config)


def causal_products():
    """scores.nc when the config asks for a causal benchmark."""
    if CAUSAL["tiers"] and CAUSAL["methods"]:
        return ["results/causal/scores.nc"]
    return []


def data_products():
    """Every data product of the run: what rule all builds and rule publish indexes."""
    return [
        "results/catalogue.nc",
        *expand("results/trajectories/{split}.zarr", split=SPLITS),
        "results/diagnostics/invariants.nc",
        "results/diagnostics/entropy.nc",
        "results/metrics/forecast.nc",
        *causal_products(),
    ]


from chaosatlas.report import featured_systems

FEATURED = featured_systems(FORECAST.systems)


def report_products():
    """Every table and figure of the report (results/report/)."""
    out = [
        "results/report/catalogue.html",
        "results/report/attractors.png",
        "results/report/invariants.html",
        "results/report/invariants.png",
    ]
    out += expand("results/report/attractor_{system}.png", system=FEATURED)
    if FORECAST.models and FORECAST.systems:
        out += [
            "results/report/leaderboard.html",
            "results/report/rollouts.png",
            "results/report/long_term.png",
            "results/report/leaderboard_summary.html",
        ]
    if causal_products():
        out.append("results/report/causal_curves.png")
    return out
