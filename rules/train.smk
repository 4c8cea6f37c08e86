rule train:
    """Fit one model on one system's train split; early stopping on the val split."""
    input:
        train="results/trajectories/train.zarr",
        val="results/trajectories/val.zarr",
    output:
        checkpoint="results/models/{model}/{system}/model.pt",
        report="results/models/{model}/{system}/training.json",
    log:
        "results/models/{model}/{system}/train.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: rule_threads("train", 1)
    resources:
        # neural models ask for a GPU so a cluster profile can route them; a local
        # run without --resources gpu=... ignores the request and uses the CPU
        gpu=lambda wc: 1 if wc.model in NEURAL else 0,
        mem_mb=lambda wc: 8000 if wc.model in NEURAL else 2000,
        runtime=lambda wc: 240 if wc.model in NEURAL else 30,
    script:
        "../scripts/train.py"


rule forecast:
    """Score every trained model on every system's test split (the train split's
    continuation under forecast.protocol: continuation): results/metrics/forecast.nc."""
    input:
        checkpoints=checkpoints(),
        test=f"results/trajectories/{FORECAST.scored_split}.zarr",
        invariants="results/diagnostics/invariants.nc",
    output:
        "results/metrics/forecast.nc",
    log:
        "results/logs/forecast.log",
    conda:
        "../envs/chaosatlas.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/forecast.py"
