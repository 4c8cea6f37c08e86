rule publish:
    """results/index.json: every product with its format, variables and units, size, checksum, citation, provenance and licence."""
    input:
        "results/catalogue.nc",
        expand("results/trajectories/{split}.zarr", split=SPLITS),
        "results/diagnostics/invariants.nc",
        "results/diagnostics/entropy.nc",
        "results/metrics/forecast.nc",
        causal_products(),
    output:
        "results/index.json",
    log:
        "results/logs/publish.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/publish.py"
