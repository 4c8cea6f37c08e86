rule publish:
    """results/index.json: every product with its format, variables and units, size, checksum, citation, provenance and licence."""
    input:
        data_products(),
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
