"""Snakemake adapter: rule causal_data -> chaosatlas.causal.pipeline.make_tier_data."""

from chaosatlas.causal.pipeline import make_tier_data
from chaosatlas.logs import log_to


def main(smk) -> None:
    with log_to(smk.log[0]):
        make_tier_data(dict(smk.config), smk.wildcards.tier, smk.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
