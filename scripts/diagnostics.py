"""Snakemake adapter: rule diagnostics -> chaosatlas.pipeline.make_diagnostics."""

from chaosatlas.logs import log_to
from chaosatlas.pipeline import make_diagnostics


def main(smk) -> None:
    with log_to(smk.log[0]):
        make_diagnostics(
            dict(smk.config),
            smk.input.catalogue,
            smk.output.invariants,
            smk.output.entropy,
            threads=smk.threads,
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
