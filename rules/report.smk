# Report items: tables and figures drawn from the products, cached like any output.
# `snakemake --report results/report.html` collects them (`make run` does it last).


rule report_catalogue:
    """The catalogue as a searchable table."""
    input:
        catalogue="results/catalogue.nc",
    output:
        report(
            "results/report/catalogue.html",
            caption="../workflow/report/catalogue.rst",
            category="1. Catalogue",
            labels={"item": "systems (searchable table)"},
        ),
    log:
        "results/logs/report_catalogue.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report.py"


rule report_attractor_grid:
    """One small attractor projection per integrated system."""
    input:
        store="results/trajectories/test.zarr",
    output:
        report(
            "results/report/attractors.png",
            caption="../workflow/report/attractors.rst",
            category="2. Attractors",
            labels={"item": "all systems"},
        ),
    log:
        "results/logs/report_attractor_grid.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/report.py"


rule report_attractor:
    """A larger attractor figure for one of the featured (forecast) systems."""
    input:
        store="results/trajectories/test.zarr",
    output:
        report(
            "results/report/attractor_{system}.png",
            caption="../workflow/report/attractor.rst",
            category="2. Attractors",
            labels={"item": "{system}"},
        ),
    log:
        "results/logs/report_attractor_{system}.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report.py"


rule report_invariants:
    """Computed invariants against the literature, disagreements highlighted."""
    input:
        invariants="results/diagnostics/invariants.nc",
    output:
        table=report(
            "results/report/invariants.html",
            caption="../workflow/report/invariants.rst",
            category="3. Invariants",
            labels={"item": "table"},
        ),
        figure=report(
            "results/report/invariants.png",
            caption="../workflow/report/invariants.rst",
            category="3. Invariants",
            labels={"item": "computed against literature"},
        ),
    log:
        "results/logs/report_invariants.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report.py"


rule report_forecast:
    """Leaderboard table, example rollouts against the truth, long-term statistics."""
    input:
        forecast="results/metrics/forecast.nc",
        checkpoints=checkpoints(),
        test="results/trajectories/test.zarr",
    output:
        leaderboard=report(
            "results/report/leaderboard.html",
            caption="../workflow/report/leaderboard.rst",
            category="4. Forecasting",
            labels={"item": "leaderboard"},
        ),
        rollouts=report(
            "results/report/rollouts.png",
            caption="../workflow/report/rollouts.rst",
            category="4. Forecasting",
            labels={"item": "example rollouts"},
        ),
        long_term=report(
            "results/report/long_term.png",
            caption="../workflow/report/long_term.rst",
            category="4. Forecasting",
            labels={"item": "long-term statistics"},
        ),
        # the compact table on the report's front page (workflow/report/workflow.rst)
        summary="results/report/leaderboard_summary.html",
    log:
        "results/logs/report_forecast.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/report.py"


rule report_causal:
    """ROC and precision-recall curves per causal tier and method."""
    input:
        data=expand("results/causal/{tier}.nc", tier=CAUSAL["tiers"]),
        predictions=expand(
            "results/causal/predictions/{method}/{tier}.nc",
            method=CAUSAL["methods"],
            tier=CAUSAL["tiers"],
        ),
    output:
        report(
            "results/report/causal_curves.png",
            caption="../workflow/report/causal.rst",
            category="5. Causal discovery",
            labels={"item": "ROC and precision-recall"},
        ),
    log:
        "results/logs/report_causal.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/report.py"
