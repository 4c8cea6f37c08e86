rule catalogue:
    """Compile every selected system (sympy -> numba), probe its attractor, tabulate."""
    input:
        systems=CATALOGUE_FILES,
    output:
        "results/catalogue.nc",
    log:
        "results/logs/catalogue.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: rule_threads("catalogue")
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        systems=config["systems"],
    script:
        "../scripts/catalogue.py"
