"""Snakemake adapter: rule train -> chaosatlas.forecast.train_model."""

from chaosatlas.forecast import train_model
from chaosatlas.logs import log_to


def main(smk) -> None:
    with log_to(smk.log[0]):
        train_model(
            smk.wildcards.model,
            smk.wildcards.system,
            dict(smk.config),
            smk.input.train,
            smk.input.val,
            smk.output.checkpoint,
            smk.output.report,
            threads=smk.threads,
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
