rule catalogue:
    """Compile every selected system (sympy -> numba), probe its attractor, tabulate."""
    input:
        systems=CATALOGUE_FILES,
    output:
        "results/catalogue.nc",
    params:
        systems=config["systems"],
    threads: rule_threads("catalogue")
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        "results/logs/catalogue.log",
    conda:
        "../envs/chaosatlas.yaml"
    script:
        "../scripts/catalogue.py"
