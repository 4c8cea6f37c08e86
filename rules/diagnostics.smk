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
