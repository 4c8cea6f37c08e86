"""Snakemake adapter: rule publish -> chaosatlas.publish.write_index."""

from pathlib import Path

from chaosatlas.logs import log_to
from chaosatlas.publish import write_index


def main(smk) -> None:
    with log_to(smk.log[0]):
        write_index(Path(smk.output[0]).parent)  # writes <results>/index.json


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
