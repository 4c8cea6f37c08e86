# Causal-discovery benchmark: data per tier, one job per (method, tier), scores.


wildcard_constraints:
    tier="|".join(CAUSAL["tiers"]) or "none",
    method="[a-z_]+",


rule causal_data:
    """Simulate one tier's coupled systems with their known graphs."""
    output:
        "results/causal/{tier}.nc",
    log:
        "results/logs/causal_data_{tier}.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/causal_data.py"


rule causal_discover:
    """Run one discovery method on every instance of one tier."""
    input:
        "results/causal/{tier}.nc",
    output:
        "results/causal/predictions/{method}/{tier}.nc",
    log:
        "results/logs/causal_{method}_{tier}.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/causal_discover.py"


rule causal_scores:
    """AUROC, AUPRC, F1 and SHD per (method, graph) and their summaries."""
    input:
        data=expand("results/causal/{tier}.nc", tier=CAUSAL["tiers"]),
        predictions=expand(
            "results/causal/predictions/{method}/{tier}.nc",
            method=CAUSAL["methods"],
            tier=CAUSAL["tiers"],
        ),
    output:
        "results/causal/scores.nc",
    log:
        "results/logs/causal_scores.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/causal_scores.py"
