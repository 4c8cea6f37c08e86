"""Snakemake adapter: rule integrate -> chaosatlas.pipeline.make_trajectories."""

from chaosatlas.logs import log_to
from chaosatlas.pipeline import make_trajectories


def main(smk) -> None:
    outputs = {split: smk.output[split] for split in ("train", "val", "test")}
    with log_to(smk.log[0]):
        make_trajectories(dict(smk.config), smk.input.catalogue, outputs, threads=smk.threads)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
