"""Snakemake adapter: rule catalogue -> chaosatlas.pipeline.make_catalogue."""

from chaosatlas.logs import log_to
from chaosatlas.pipeline import make_catalogue


def main(smk) -> None:
    with log_to(smk.log[0]):
        make_catalogue(dict(smk.config), smk.output[0], threads=smk.threads)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
