"""Snakemake adapter: rule causal_scores -> chaosatlas.causal.pipeline.make_scores."""

from chaosatlas.causal.pipeline import make_scores
from chaosatlas.logs import log_to


def main(smk) -> None:
    with log_to(smk.log[0]):
        make_scores(
            dict(smk.config), list(smk.input.data), list(smk.input.predictions), smk.output[0]
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
