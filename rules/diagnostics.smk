# Not included by the Snakefile yet: the time-series diagnostics modules (dimensions, zero_one,
# timeseries, entropy) are still being written; include it once they land (see issue 4 notes).
rule diagnostics:
    """Lyapunov spectra, dimensions, 0-1 test, verdicts and entropies of every catalogued system."""
    input:
        catalogue="results/catalogue.nc",
    output:
        invariants="results/diagnostics/invariants.nc",
        entropy="results/diagnostics/entropy.nc",
    log:
        "results/logs/diagnostics.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: rule_threads("diagnostics")
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        diagnostics=config.get("diagnostics", {}),
    script:
        "../scripts/diagnostics.py"
