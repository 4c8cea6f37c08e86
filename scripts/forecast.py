"""Snakemake adapter: rule forecast -> chaosatlas.forecast.make_forecast."""

from chaosatlas.forecast import make_forecast
from chaosatlas.logs import log_to


def main(smk) -> None:
    with log_to(smk.log[0]):
        make_forecast(
            dict(smk.config),
            list(smk.input.checkpoints),
            smk.input.test,
            smk.input.invariants,
            smk.output[0],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
