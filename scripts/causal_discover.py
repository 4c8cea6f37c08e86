"""Snakemake adapter: rule causal_discover -> chaosatlas.causal.pipeline.make_predictions."""

from chaosatlas.causal.pipeline import make_predictions
from chaosatlas.logs import log_to


def main(smk) -> None:
    with log_to(smk.log[0]):
        make_predictions(dict(smk.config), smk.wildcards.method, smk.input[0], smk.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
