rule integrate:
    """Integrate the ok systems from attractor initial conditions into one Zarr store per split."""
    input:
        catalogue="results/catalogue.nc",
    output:
        train=directory("results/trajectories/train.zarr"),
        val=directory("results/trajectories/val.zarr"),
        test=directory("results/trajectories/test.zarr"),
    log:
        "results/logs/integrate.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: rule_threads("integrate")
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        integration=config["integration"],
    script:
        "../scripts/integrate.py"
